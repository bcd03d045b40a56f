import { describe, expect, it } from "vitest";
import { compare, evaluateTarget, evaluateTargets, formatNumber, TARGETS } from "../../scripts/bench/evaluate.js";

const target = (id: string) => TARGETS.find((candidate) => candidate.id === id)!;

describe("the issue's targets", () => {
  it("are stated as the issue states them, none weakened", () => {
    expect(TARGETS.map((t) => [t.id, t.better, t.threshold])).toEqual([
      ["write_p99_ms", "lower", 2],
      ["worker_start_p50_ms", "lower", 5],
      ["processed_p99_ms", "lower", 50],
      ["saturation_hashing_per_s", "higher", 1000],
      ["bulk_share_of_raw", "higher", 60],
      ["lost_conversations", "lower", 1],
      ["search_p95_ms", "lower", 50],
      // Worker v2's targets.
      ["noop_share", "higher", 0.35],
      ["processed_p99_500_ms", "lower", 100],
      ["remote_per_s", "higher", 400],
      ["remote_requests_per_conversation", "lower", 0.1],
      ["local_share_of_model", "higher", 90],
      ["write_p50_over_floor", "lower", 1.3],
      ["ingest_share_of_raw", "higher", 50],
    ]);
  });
});

describe("evaluateTarget", () => {
  it("meets a 'lower' target strictly below the limit, and says by how much", () => {
    expect(evaluateTarget(target("write_p99_ms"), 1.5)).toMatchObject({ met: true, verdict: "met, 25% under the limit" });
    expect(evaluateTarget(target("write_p99_ms"), 2)).toMatchObject({ met: false, verdict: "missed by 0%" });
  });

  it("says how far a missed target is off: a percentage, or a factor from 2x", () => {
    expect(evaluateTarget(target("write_p99_ms"), 2.5).verdict).toBe("missed by 25%");
    expect(evaluateTarget(target("write_p99_ms"), 27).verdict).toBe("missed by 13.5x");
    expect(evaluateTarget(target("saturation_hashing_per_s"), 800).verdict).toBe("missed by 25%");
    expect(evaluateTarget(target("saturation_hashing_per_s"), 100).verdict).toBe("missed by 10x");
  });

  it("meets a 'higher' target at the threshold", () => {
    expect(evaluateTarget(target("bulk_share_of_raw"), 60)).toMatchObject({ met: true, verdict: "met, 0% above the target" });
    expect(evaluateTarget(target("bulk_share_of_raw"), 75).verdict).toBe("met, 25% above the target");
  });

  it("counts lost conversations: none is met, any is missed", () => {
    expect(evaluateTarget(target("lost_conversations"), 0)).toMatchObject({ met: true, verdict: "met: none lost" });
    expect(evaluateTarget(target("lost_conversations"), 3)).toMatchObject({ met: false, verdict: "missed: 3 lost" });
  });

  it("reports a target without a measurement as not measured, neither met nor missed", () => {
    expect(evaluateTarget(target("processed_p99_ms"), null)).toMatchObject({ met: null, measured: null });
    expect(evaluateTarget(target("processed_p99_ms"), Number.NaN).met).toBeNull();
    expect(evaluateTargets({ write_p99_ms: 1 }).map((result) => result.met)).toEqual([true, ...TARGETS.slice(1).map(() => null)]);
  });
});

describe("compare (Parley / baseline)", () => {
  it("says how many times lower or higher Parley is, and whether that is the better side", () => {
    expect(compare(2, 40, "lower")).toEqual({ ratio: 0.05, text: "20x lower", parleyBetter: true });
    expect(compare(2, 1, "lower")).toEqual({ ratio: 2, text: "2x higher", parleyBetter: false });
    expect(compare(300, 100, "higher")).toEqual({ ratio: 3, text: "3x higher", parleyBetter: true });
  });

  it("calls ratios within 5% about the same", () => {
    expect(compare(1.02, 1, "lower")).toMatchObject({ text: "about the same", parleyBetter: false });
  });

  it("handles zeros and missing values without dividing by zero", () => {
    expect(compare(0, 0, "lower")?.text).toBe("same (both 0)");
    expect(compare(3, 0, "lower")).toMatchObject({ text: "baseline is 0", parleyBetter: false });
    expect(compare(0, 3, "lower")).toMatchObject({ text: "Parley is 0", parleyBetter: true });
    expect(compare(null, 3, "lower")).toBeNull();
    expect(compare(1, undefined, "lower")).toBeNull();
  });
});

describe("formatNumber", () => {
  it("keeps about three significant figures", () => {
    expect(formatNumber(1234.5)).toBe("1,235");
    expect(formatNumber(12.34)).toBe("12.3");
    expect(formatNumber(1.5)).toBe("1.5");
    expect(formatNumber(2)).toBe("2");
    expect(formatNumber(0.0123)).toBe("0.012");
    expect(formatNumber(0)).toBe("0");
  });
});

describe("a percentile that never finished", () => {
  it("misses a 'lower' target rather than going unmeasured", () => {
    expect(evaluateTarget(TARGETS.find((t) => t.id === "processed_p99_ms")!, Number.POSITIVE_INFINITY))
      .toMatchObject({ met: false, verdict: "missed: not reached within the run's wait" });
    expect(formatNumber(Number.POSITIVE_INFINITY)).toBe("∞");
  });
});
