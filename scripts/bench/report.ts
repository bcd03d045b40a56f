// The results as text: aligned tables for the terminal and a markdown page
// (bench/results/latest.md, pasted into README). Pure.
import { compare, formatNumber } from "./evaluate.js";
import { DESIGN_IDS, DESIGN_LABELS, type DesignId } from "./design.js";
import { SCENARIO_TITLES, type BenchResults, type MetricRow, type ScenarioId } from "./results.js";

type Cell = string;

/** Columns padded to their widest cell; the first column left-aligned, the rest right-aligned. */
export function textTable(header: Cell[], rows: Cell[][]): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (row: Cell[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ").trimEnd();
  return [line(header), widths.map((width) => "-".repeat(width)).join("  "), ...rows.map(line)].join("\n");
}

/** `left` lists the columns of text (the first always is); the others hold numbers and align right. */
export function markdownTable(header: Cell[], rows: Cell[][], left: readonly number[] = [0]): string {
  const escape = (cell: string) => cell.replace(/\|/g, "\\|");
  return [
    `| ${header.map(escape).join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 || left.includes(i) ? "---" : "---:")).join("|")}|`,
    ...rows.map((row) => `| ${row.map(escape).join(" | ")} |`),
  ].join("\n");
}

export function formatValue(value: number | null | undefined, unit: string): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const number = formatNumber(value);
  if (unit === "" ) return number;
  if (unit === "%") return `${number}%`;
  return `${number} ${unit}`;
}

/** Designs that have at least one value or note in these rows, in the fixed order. */
function designsIn(rows: readonly MetricRow[]): DesignId[] {
  return DESIGN_IDS.filter((id) => rows.some((row) => id in row.values));
}

interface ScenarioTables {
  scenario: ScenarioId;
  header: Cell[];
  values: Cell[][];
  ratioHeader: Cell[];
  ratios: Cell[][];
  notes: string[];
}

export function scenarioTables(results: BenchResults): ScenarioTables[] {
  const scenarios = [...new Set(results.metrics.map((row) => row.scenario))];
  return scenarios.map((scenario) => {
    const rows = results.metrics.filter((row) => row.scenario === scenario);
    const designs = designsIn(rows);
    const baselines = designs.filter((id) => id !== "parley");
    const notes: string[] = [];
    const values = rows.map((row) => [
      row.metric,
      ...designs.map((id) => {
        const note = row.notes?.[id];
        // A distribution's note sits on its p50, p95 and p99 rows; say it once.
        const text = note && `${DESIGN_LABELS[id]}, ${row.metric.replace(/ p(50|95|99)$/, "")}: ${note}`;
        if (text && !notes.includes(text)) notes.push(text);
        return id in row.values ? formatValue(row.values[id], row.unit) : "";
      }),
    ]);
    const ratios = rows
      .filter((row) => row.values.parley !== undefined && row.values.parley !== null && baselines.some((id) => typeof row.values[id] === "number"))
      .map((row) => [
        row.metric,
        ...baselines.map((id) => {
          const comparison = compare(row.values.parley, row.values[id], row.better);
          return comparison ? `${comparison.text}${comparison.parleyBetter ? " (better)" : ""}` : "";
        }),
      ]);
    return {
      scenario,
      header: ["", ...designs.map((id) => DESIGN_LABELS[id])],
      values,
      ratioHeader: ["Parley vs", ...baselines.map((id) => DESIGN_LABELS[id])],
      ratios,
      notes,
    };
  });
}

const COMPARISON_HEADER = ["", "Parley", "baseline (same run)", "", "Parley vs baseline"];

/** The comparison rows of a scenario, and their notes. */
function comparisonTable(results: BenchResults, scenario: ScenarioId): { values: Cell[][]; notes: string[] } {
  const rows = (results.comparisons ?? []).filter((row) => row.scenario === scenario);
  return {
    values: rows.map((row) => {
      const comparison = compare(row.parley, row.baselineValue, row.better);
      return [
        row.metric,
        formatValue(row.parley, row.unit),
        row.baseline,
        formatValue(row.baselineValue, row.unit),
        comparison ? `${comparison.text} (ratio ${comparison.ratio.toFixed(2)})` : "",
      ];
    }),
    notes: rows.filter((row) => row.note).map((row) => `${row.metric}: ${row.note}`),
  };
}

function scenariosWithComparisonsOnly(results: BenchResults): ScenarioId[] {
  const withMetrics = new Set(results.metrics.map((row) => row.scenario));
  return [...new Set((results.comparisons ?? []).map((row) => row.scenario))].filter((scenario) => !withMetrics.has(scenario));
}

function targetRows(results: BenchResults): Cell[][] {
  return results.targets.map((result) => [
    result.target.description,
    `${result.target.better === "lower" ? "<" : ">="} ${formatValue(result.target.threshold, result.target.unit)}`,
    formatValue(result.measured, result.target.unit),
    result.met === null ? "–" : result.met ? "met" : "MISSED",
    result.verdict,
  ]);
}

const TARGET_HEADER = ["target", "goal", "measured", "", "verdict"];

function machineLine(results: BenchResults): string {
  const m = results.machine;
  return `${m.cpus} CPU (${m.cpuModel}), ${m.memoryGiB.toFixed(0)} GiB RAM, load average at start ${m.loadAverageAtStart.map((x) => x.toFixed(2)).join(" ")}; Node ${m.node}; PostgreSQL ${m.postgres} (${m.server === "embedded" ? "embedded" : "DATABASE_URL"})`;
}

export function renderText(results: BenchResults): string {
  const out: string[] = [];
  out.push(`Parley benchmark (${results.mode} run, ${results.startedAt})`);
  out.push(machineLine(results));
  for (const table of scenarioTables(results)) {
    out.push("", SCENARIO_TITLES[table.scenario], textTable(table.header, table.values));
    if (table.ratios.length > 0) out.push("", textTable(table.ratioHeader, table.ratios));
    for (const note of table.notes) out.push(`  * ${note}`);
    const comparisons = comparisonTable(results, table.scenario);
    if (comparisons.values.length > 0) out.push("", textTable(COMPARISON_HEADER, comparisons.values));
    for (const note of comparisons.notes) out.push(`  * ${note}`);
  }
  for (const scenario of scenariosWithComparisonsOnly(results)) {
    const comparisons = comparisonTable(results, scenario);
    out.push("", SCENARIO_TITLES[scenario], textTable(COMPARISON_HEADER, comparisons.values));
    for (const note of comparisons.notes) out.push(`  * ${note}`);
  }
  out.push("", "Targets", textTable(TARGET_HEADER, targetRows(results)));
  for (const note of results.notes) out.push(`  * ${note}`);
  return out.join("\n") + "\n";
}

export function renderMarkdown(results: BenchResults, files: { json: string; svg: string }): string {
  const out: string[] = [];
  out.push(`<!-- Written by \`npm run bench${results.mode === "quick" ? " -- --quick" : ""}\` (scripts/bench). Rerun to refresh. -->`);
  out.push(`### Benchmark results (${results.mode} run, ${results.startedAt.slice(0, 10)})`, "");
  out.push(`Machine: ${machineLine(results)}.`, "");
  out.push(`Every design ran in the same run on its own database, with the same generated conversations (20 messages each). Settings: ${Object.entries(results.settings).map(([key, value]) => `${key} ${value}`).join(", ")}.`, "");
  out.push("#### Targets", "", markdownTable(TARGET_HEADER, targetRows(results), [0, 3, 4]), "");
  for (const table of scenarioTables(results)) {
    out.push(`#### ${SCENARIO_TITLES[table.scenario]}`, "", markdownTable(table.header, table.values), "");
    if (table.ratios.length > 0) out.push(markdownTable(table.ratioHeader, table.ratios), "");
    for (const note of table.notes) out.push(`- ${note}`);
    if (table.notes.length > 0) out.push("");
    const comparisons = comparisonTable(results, table.scenario);
    if (comparisons.values.length > 0) out.push(markdownTable(COMPARISON_HEADER, comparisons.values, [0, 2]), "");
    for (const note of comparisons.notes) out.push(`- ${note}`);
    if (comparisons.notes.length > 0) out.push("");
  }
  for (const scenario of scenariosWithComparisonsOnly(results)) {
    const comparisons = comparisonTable(results, scenario);
    out.push(`#### ${SCENARIO_TITLES[scenario]}`, "", markdownTable(COMPARISON_HEADER, comparisons.values, [0, 2]), "");
    for (const note of comparisons.notes) out.push(`- ${note}`);
    if (comparisons.notes.length > 0) out.push("");
  }
  if (results.notes.length > 0) {
    out.push("#### Notes", "", ...results.notes.map((note) => `- ${note}`), "");
  }
  out.push(`Raw results: \`${files.json}\`; latency distributions: \`${files.svg}\` (both under bench/results/, not committed).`, "");
  return out.join("\n");
}
