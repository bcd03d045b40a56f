import { describe, expect, it } from "vitest";
import { cdfPoints, percentile, rate, summarize } from "../../scripts/bench/stats.js";

describe("percentile", () => {
  it("interpolates between the nearest ranks, like PostgreSQL's percentile_cont", () => {
    const sorted = [1, 2, 3, 4];
    expect(percentile(sorted, 0)).toBe(1);
    expect(percentile(sorted, 50)).toBe(2.5);
    expect(percentile(sorted, 100)).toBe(4);
    // percentile_cont(0.99) over 1..100 is 99.01
    expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 99)).toBeCloseTo(99.01, 10);
  });

  it("ranks unfinished samples (Infinity) above every finished one", () => {
    const sorted = [1, 2, 3, Number.POSITIVE_INFINITY];
    expect(percentile(sorted, 0)).toBe(1);
    expect(percentile(sorted, 50)).toBe(2.5);
    expect(percentile(sorted, 99)).toBe(Number.POSITIVE_INFINITY);
    expect(percentile([1, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY], 100)).toBe(Number.POSITIVE_INFINITY);
  });

  it("is the value itself for one sample", () => {
    expect(percentile([7], 99)).toBe(7);
  });

  it("refuses no samples and percentiles outside 0..100", () => {
    expect(() => percentile([], 50)).toThrow(/no values/);
    expect(() => percentile([1], 101)).toThrow(/0\.\.100/);
    expect(() => percentile([1], Number.NaN)).toThrow(/0\.\.100/);
  });
});

describe("summarize", () => {
  it("sorts a copy and reports count, min, mean, p50, p95, p99 and max", () => {
    const values = [5, 1, 4, 2, 3];
    expect(summarize(values)).toEqual({ count: 5, min: 1, mean: 3, p50: 3, p95: 4.8, p99: 4.96, max: 5 });
    expect(values).toEqual([5, 1, 4, 2, 3]);
  });

  it("is null for no samples", () => {
    expect(summarize([])).toBeNull();
  });
});

describe("rate", () => {
  it("divides by the seconds, or is null when none passed", () => {
    expect(rate(500, 2)).toBe(250);
    expect(rate(5, 0)).toBeNull();
  });
});

describe("cdfPoints", () => {
  it("thins a distribution to at most about `points` pairs, always ending at (max, 1)", () => {
    const values = Array.from({ length: 1000 }, (_, i) => 1000 - i);
    const points = cdfPoints(values, 10);
    expect(points.length).toBeLessThanOrEqual(11);
    expect(points[0]).toEqual([1, 0.001]);
    expect(points.at(-1)).toEqual([1000, 1]);
    for (let i = 1; i < points.length; i++) {
      expect(points[i]![0]).toBeGreaterThanOrEqual(points[i - 1]![0]);
      expect(points[i]![1]).toBeGreaterThan(points[i - 1]![1]);
    }
  });

  it("keeps every point of a small sample", () => {
    expect(cdfPoints([3, 1, 2], 10)).toEqual([[1, 1 / 3], [2, 2 / 3], [3, 1]]);
    expect(cdfPoints([])).toEqual([]);
  });
});
