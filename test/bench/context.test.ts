import { describe, expect, it } from "vitest";
import { Collector } from "../../scripts/bench/context.js";

describe("Collector", () => {
  it("keeps one row per scenario and metric, with a value per design", () => {
    const results = new Collector();
    results.value("single", "caller write p50", "ms", "lower", "parley", 1);
    results.value("single", "caller write p50", "ms", "lower", "raw-floor", 0.5, "plain INSERT");
    expect(results.metrics).toEqual([{
      scenario: "single", metric: "caller write p50", unit: "ms", better: "lower",
      values: { parley: 1, "raw-floor": 0.5 }, notes: { "raw-floor": "plain INSERT" },
    }]);
  });

  it("records a distribution as p50, p95 and p99 rows and a chart series", () => {
    const results = new Collector();
    results.distribution("sustained", "commit to PROCESSED", "parley", [1, 2, 3, 4, 5]);
    expect(results.metrics.map((row) => [row.metric, row.values.parley])).toEqual([
      ["commit to PROCESSED p50", 3], ["commit to PROCESSED p95", 4.8], ["commit to PROCESSED p99", 4.96],
    ]);
    expect(results.latencies).toHaveLength(1);
    expect(results.latencies[0]!.summary.max).toBe(5);
  });

  it("ranks unfinished samples last: a percentile among them has no value, and a note says why", () => {
    const results = new Collector();
    results.distribution("sustained", "commit to PROCESSED", "parley", [1, 2, 3, 4, 5, 6, 7, 8, 9], undefined, 1);
    const [p50, , p99] = results.metrics;
    expect(p50!.values.parley).toBe(5.5);
    expect(p99!.values.parley).toBeNull();
    expect(p99!.notes?.parley).toBe("1 of 10 did not finish within the wait; a percentile among them shows as –");
    // The chart shows what finished.
    expect(results.latencies[0]!.summary.count).toBe(9);
  });

  it("collects target inputs and notes", () => {
    const results = new Collector();
    results.target("bulk_share_of_raw", 70);
    results.note("quick");
    expect(results.targetInputs).toEqual({ bulk_share_of_raw: 70 });
    expect(results.notes).toEqual(["quick"]);
  });
});
