// README's table of processing guarantees names, for each promise, the test that proves it. This
// reads the table, whatever its rows, and fails when a test or test file it names no longer
// exists, so that a renamed or deleted test cannot leave a promise without its proof.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tablesIn } from "./support/readme.js";

const SECTION = "## Processing and its guarantees";

/** What a table cell names: test files (`test/....test.ts`) and test titles ("..."; " ... " elides words). */
function namedTests(cell: string): { files: string[]; titles: string[] } {
  return {
    files: [...cell.matchAll(/`(test\/[^`]+\.test\.ts)`/g)].map((match) => match[1]!),
    titles: [...cell.matchAll(/"([^"]+)"/g)].map((match) => match[1]!),
  };
}

/** Whether `title` is the test title README writes as `named`, where " ... " stands for any words. */
function titleMatches(named: string, title: string): boolean {
  const pattern = named.split(" ... ").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(" .+ ");
  return new RegExp(`^${pattern}$`).test(title);
}

/** The titles of the tests in a file and of their groups, as written in its it(...), test(...) and describe(...) calls. */
function testTitles(source: string): string[] {
  return [...source.matchAll(/\b(?:it|test|describe)(?:\.\w+)*(?:\([^()]*\))?\(\s*(["'`])((?:\\.|(?!\1).)*)\1/g)].map((match) => match[2]!.replace(/\\(.)/g, "$1"));
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? testFiles(full) : entry.name.endsWith(".test.ts") ? [full] : [];
  });
}

describe("README's guarantees table", () => {
  it("names, in every row, tests that exist", () => {
    // The section's table with a "test" column; other tables (the state machine's) name no tests.
    const table = tablesIn(readFileSync("README.md", "utf8"), SECTION)
      .find(([header]) => header!.some((cell) => cell.toLowerCase() === "test"));
    expect(table, `a table with a test column in "${SECTION}"`).toBeDefined();
    const [header, ...rows] = table!;
    const column = header!.findIndex((cell) => cell.toLowerCase() === "test");
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
    expect(tablesIn("intro\n## S\n\n| a | b `x|y` |\n|---|---|\n| 1 | 2 |\n\ntext\n\n| c |\n|---|\n| 3 |\n## T\n| d |", "## S"))
      .toEqual([[["a", "b `x|y`"], ["1", "2"]], [["c"], ["3"]]]);
    expect(namedTests('`test/worker/x.test.ts` "one", "two" (slow)')).toEqual({ files: ["test/worker/x.test.ts"], titles: ["one", "two"] });
    expect(titleMatches("retries follow ... and end FAILED", "retries follow the schedule and end FAILED")).toBe(true);
    expect(titleMatches("retries follow ... and end FAILED", "retries follow the schedule and end PROCESSED")).toBe(false);
    expect(titleMatches("a (b)", "a (b)")).toBe(true);
    expect(testTitles(`describe("group", () => {\n  it("first", async () => {});\n  it.for(rows)("second %s", () => {});\n});\ntest('third', () => {});`))
      .toEqual(["group", "first", "second %s", "third"]);
  });
});
