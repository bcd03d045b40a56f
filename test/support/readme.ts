// Reading README's tables, for the tests that hold README to the code.

/** The tables of a section (`heading` to the next "## "), each as rows of cells, header row first. */
export function tablesIn(markdown: string, heading: string): string[][][] {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no section "${heading}"`);
  const tables: string[][][] = [];
  let table: string[][] | undefined;
  for (const line of markdown.slice(start + heading.length + 2).split("\n")) {
    if (line.startsWith("## ")) break;
    if (!line.startsWith("|")) {
      table = undefined;
      continue;
    }
    // Split on the bars between cells, not on those inside `code`.
    const cells = line.slice(1, line.endsWith("|") ? -1 : undefined).split(/\|(?=(?:[^`]*`[^`]*`)*[^`]*$)/).map((cell) => cell.trim());
    if (cells.every((cell) => /^:?-+:?$/.test(cell))) continue;
    if (!table) tables.push((table = []));
    table.push(cells);
  }
  return tables;
}
