import { describe, expect, it } from "vitest";
import { evaluateTargets } from "../../scripts/bench/evaluate.js";
import { formatValue, markdownTable, renderMarkdown, renderText, scenarioTables, textTable } from "../../scripts/bench/report.js";
import type { BenchResults } from "../../scripts/bench/results.js";

const results: BenchResults = {
  mode: "quick",
  startedAt: "2025-11-25T18:00:00.000Z",
  finishedAt: "2025-11-25T18:01:00.000Z",
  machine: { cpus: 2, cpuModel: "Test CPU", memoryGiB: 8, loadAverageAtStart: [0.5, 0.4, 0.3], node: "20.20.0", postgres: "15.20", server: "DATABASE_URL" },
  settings: { "Parley workers x jobs": "1 x 8" },
  metrics: [
    { scenario: "single", metric: "caller write p99", unit: "ms", better: "lower", values: { parley: 1.5, synchronous: 30, "memory-queue": 0.1 }, notes: { synchronous: "includes processing" } },
    { scenario: "single", metric: "caller write p50", unit: "ms", better: "lower", values: { parley: 1, synchronous: 20, "memory-queue": 0.05 }, notes: { synchronous: "includes processing" } },
    { scenario: "saturation", metric: "bulk", unit: "rows/s", better: "higher", values: { parley: 30000, "raw-floor": 40000 } },
  ],
  comparisons: [
    { scenario: "worker", metric: "processing a backlog, hashing, 1 process", unit: "conv/s", better: "higher", parley: 1200, baseline: "graphile-worker alone, no-op jobs", baselineValue: 3000, note: "2 cores" },
  ],
  latencies: [],
  backlog: [],
  targets: evaluateTargets({ write_p99_ms: 1.5, bulk_share_of_raw: 75 }),
  targetInputs: { write_p99_ms: 1.5, bulk_share_of_raw: 75 },
  notes: ["--quick: a smoke run."],
};

describe("scenarioTables", () => {
  it("has a column per design that has a value, and Parley's ratio to each baseline", () => {
    const [single, saturation] = scenarioTables(results);
    expect(single!.header).toEqual(["", "Parley", "synchronous", "memory queue"]);
    expect(single!.values[0]).toEqual(["caller write p99", "1.5 ms", "30 ms", "0.1 ms"]);
    expect(single!.ratios[0]).toEqual(["caller write p99", "20x lower (better)", "15x higher"]);
    expect(saturation!.ratios[0]).toEqual(["bulk", "1.33x lower"]);
  });

  it("says a distribution's note once, not once per percentile", () => {
    expect(scenarioTables(results)[0]!.notes).toEqual(["synchronous, caller write: includes processing"]);
  });
});

describe("comparisons with baselines that are not designs", () => {
  it("get a table of their own under their scenario, with Parley's ratio to the baseline", () => {
    const text = renderText(results);
    expect(text).toContain("7. The worker's throughput, each figure next to its baseline");
    expect(text).toMatch(/processing a backlog, hashing, 1 process\s+1,200 conv\/s\s+graphile-worker alone, no-op jobs\s+3,000 conv\/s\s+2.5x lower \(ratio 0.40\)/);
    expect(text).toContain("* processing a backlog, hashing, 1 process: 2 cores");
    const markdown = renderMarkdown(results, { json: "bench.json", svg: "bench.svg" });
    expect(markdown).toContain("| processing a backlog, hashing, 1 process | 1,200 conv/s | graphile-worker alone, no-op jobs | 3,000 conv/s | 2.5x lower (ratio 0.40) |");
  });
});

describe("tables", () => {
  it("pads text columns and right-aligns numbers", () => {
    expect(textTable(["", "a"], [["long name", "1"], ["x", "22"]])).toBe(
      ["            a", "---------  --", "long name   1", "x          22"].join("\n"));
  });

  it("escapes pipes in markdown cells", () => {
    expect(markdownTable(["k", "v"], [["a|b", "1"]])).toBe("| k | v |\n|---|---:|\n| a\\|b | 1 |");
  });

  it("formats missing values as a dash and units after the number", () => {
    expect(formatValue(null, "ms")).toBe("–");
    expect(formatValue(75, "%")).toBe("75%");
    expect(formatValue(1234, "conv/s")).toBe("1,234 conv/s");
  });
});

describe("renderText and renderMarkdown", () => {
  it("state the machine, the mode, every target's verdict and the notes", () => {
    for (const text of [renderText(results), renderMarkdown(results, { json: "r.json", svg: "r.svg" })]) {
      expect(text).toContain("2 CPU (Test CPU)");
      expect(text).toContain("quick run");
      expect(text).toContain("met, 25% under the limit");
      expect(text).toContain("not measured in this run");
      expect(text).toContain("--quick: a smoke run.");
    }
    expect(renderMarkdown(results, { json: "r.json", svg: "r.svg" })).toContain("`r.svg`");
  });
});

describe("markdownTable alignment", () => {
  it("right-aligns number columns and leaves the text columns named left", () => {
    expect(markdownTable(["a", "b", "c"], [], [2]).split("\n")[1]).toBe("|---|---:|---|");
  });
});
