// README's table of processing guarantees names, for each promise, the test that proves it. This
// reads the table, whatever its rows, and fails when a test or test file it names no longer
// exists, so that a renamed or deleted test cannot leave a promise without its proof.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const SECTION = "## Processing and its guarantees";

/** The rows of the first table after `heading`, as cells, header row first. */
export function tableAfter(markdown: string, heading: string): string[][] {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no section "${heading}"`);
  const lines = markdown.slice(start + heading.length + 2).split("\n");
  const first = lines.findIndex((line) => line.startsWith("|"));
  if (first < 0 || lines.slice(0, first).some((line) => line.startsWith("## "))) throw new Error(`no table in "${heading}"`);
  const rows: string[][] = [];
  for (const line of lines.slice(first)) {
    if (!line.startsWith("|")) break;
    // Split on the bars between cells, not on those inside `code`.
    const cells = line.slice(1, line.endsWith("|") ? -1 : undefined).split(/\|(?=(?:[^`]*`[^`]*`)*[^`]*$)/).map((cell) => cell.trim());
    if (cells.every((cell) => /^:?-+:?$/.test(cell))) continue;
    rows.push(cells);
  }
  return rows;
}

/** What a table cell names: test files (`test/....test.ts`) and test titles ("..."; " ... " elides words). */
export function namedTests(cell: string): { files: string[]; titles: string[] } {
  return {
    files: [...cell.matchAll(/`(test\/[^`]+\.test\.ts)`/g)].map((match) => match[1]!),
    titles: [...cell.matchAll(/"([^"]+)"/g)].map((match) => match[1]!),
  };
}

/** Whether `title` is the test title README writes as `named`, where " ... " stands for any words. */
export function titleMatches(named: string, title: string): boolean {
  const pattern = named.split(" ... ").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(" .+ ");
  return new RegExp(`^${pattern}$`).test(title);
}

/** The titles of the tests in a file, as written in its it(...) and test(...) calls. */
export function testTitles(source: string): string[] {
  return [...source.matchAll(/\b(?:it|test)(?:\.\w+)*(?:\([^()]*\))?\(\s*(["'`])((?:\\.|(?!\1).)*)\1/g)].map((match) => match[2]!.replace(/\\(.)/g, "$1"));
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? testFiles(full) : entry.name.endsWith(".test.ts") ? [full] : [];
  });
}

describe("README's guarantees table", () => {
  it("names, in every row, tests that exist", () => {
    const [header, ...rows] = tableAfter(readFileSync("README.md", "utf8"), SECTION);
    const column = header!.findIndex((cell) => cell.toLowerCase() === "test");
    expect(column, "the table has a test column").toBeGreaterThanOrEqual(0);
    expect(rows.length).toBeGreaterThan(0);
    const titlesByFile = new Map(testFiles("test").map((file) => [file, testTitles(readFileSync(file, "utf8"))]));

    const problems: string[] = [];
    for (const row of rows) {
      const promise = row[0]!;
      const { files, titles } = namedTests(row[column] ?? "");
      if (files.length === 0 && titles.length === 0) problems.push(`${promise}: names no test`);
      for (const file of files) if (!existsSync(file)) problems.push(`${promise}: no file ${file}`);
      // A title is looked for in the files the row names, else in every test file.
      const searched = files.length > 0 ? files.filter((file) => titlesByFile.has(file)) : [...titlesByFile.keys()];
      for (const named of titles) {
        if (!searched.some((file) => titlesByFile.get(file)!.some((title) => titleMatches(named, title)))) {
          problems.push(`${promise}: no test "${named}"${files.length > 0 ? ` in ${files.join(", ")}` : ""}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("reads cells, titles and elisions as README writes them", () => {
    expect(tableAfter("intro\n## S\n\ntext\n\n| a | b `x|y` |\n|---|---|\n| 1 | 2 |\n\nafter", "## S")).toEqual([["a", "b `x|y`"], ["1", "2"]]);
    expect(namedTests('`test/worker/x.test.ts` "one", "two" (slow)')).toEqual({ files: ["test/worker/x.test.ts"], titles: ["one", "two"] });
    expect(titleMatches("retries follow ... and end FAILED", "retries follow the schedule and end FAILED")).toBe(true);
    expect(titleMatches("retries follow ... and end FAILED", "retries follow the schedule and end PROCESSED")).toBe(false);
    expect(titleMatches("a (b)", "a (b)")).toBe(true);
    expect(testTitles(`it("first", async () => {});\n  it.for(rows)("second %s", () => {});\ntest('third', () => {});`))
      .toEqual(["first", "second %s", "third"]);
  });
});
