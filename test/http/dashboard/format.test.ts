// The dashboard's pure helpers (src/http/dashboard/format.js), run in Node: the page ships them
// as a plain ES module, without types.
import { describe, expect, it } from "vitest";

interface Format {
  formatCount(value: number | null | undefined): string;
  formatDuration(seconds: number | null | undefined): string;
  formatAgo(iso: string | null, now: number): string;
  formatWhen(iso: string | null, now: number, timeZone?: string): string;
  formatLevel(level: string | null): string;
  formatChange(value: number | null): string;
  topTopics(metrics: Record<string, { affinity: number; mentions: number }> | null, limit?: number): Array<{ topic: string; affinity: number; mentions: number }>;
  throughputBars(throughput: Array<{ minute: string; processed: number }>, height: number): { peak: number; bars: Array<{ processed: number; height: number }> };
  nextRefreshDelay(lastRefreshAt: number, now: number, intervalMs: number): number;
}
const modulePath = "../../../src/http/dashboard/format.js";
const format = (await import(modulePath)) as Format;

describe("dashboard formatting", () => {
  it.each([
    [null, "—"], [0, "0"], [1234567, "1,234,567"],
  ] as const)("formatCount(%s) = %s", (value, expected) => {
    expect(format.formatCount(value)).toBe(expected);
  });

  it.each([
    [null, "—"], [Number.NaN, "—"], [0.0042, "4 ms"], [0.9994, "999 ms"], [1.25, "1.3 s"], [2, "2 s"], [9.96, "10 s"], [42.4, "42 s"],
    [60, "1 min"], [200, "3 min 20 s"], [3600, "1 h"], [7380, "2 h 3 min"], [90_000, "1 d 1 h"],
  ] as const)("formatDuration(%s) = %s", (seconds, expected) => {
    expect(format.formatDuration(seconds)).toBe(expected);
  });

  it("formatAgo and formatWhen: recent times as an age, older ones as a date", () => {
    const now = Date.parse("2026-11-30T12:00:00Z");
    expect(format.formatAgo(null, now)).toBe("—");
    expect(format.formatAgo("2026-11-30T12:00:00.400Z", now)).toBe("just now");
    expect(format.formatAgo("2026-11-30T11:59:55Z", now)).toBe("5 s ago");
    expect(format.formatAgo("2026-11-30T11:56:40Z", now)).toBe("3 min 20 s ago");
    expect(format.formatWhen("2026-11-30T11:56:40Z", now, "UTC")).toBe("3 min 20 s ago");
    expect(format.formatWhen("2025-11-25T18:20:00Z", now, "UTC")).toBe("25 Nov 2025, 18:20");
  });

  it("formatLevel and formatChange", () => {
    expect(format.formatLevel("PHASE2_ACQUAINTANCE")).toBe("Acquaintance");
    expect(format.formatLevel(null)).toBe("—");
    expect(format.formatChange(2.5)).toBe("+2.50");
    expect(format.formatChange(-1)).toBe("−1.00");
    expect(format.formatChange(0)).toBe("0.00");
    expect(format.formatChange(null)).toBe("—");
  });

  it("topTopics ranks by affinity, then mentions, then name, and keeps the first few", () => {
    const metrics = {
      music: { affinity: 0.2, mentions: 9 },
      movies: { affinity: 0.5, mentions: 1 },
      science: { affinity: 0.2, mentions: 3 },
      art: { affinity: 0.2, mentions: 3 },
    };
    expect(format.topTopics(metrics, 3).map((topic) => topic.topic)).toEqual(["movies", "music", "art"]);
    expect(format.topTopics(null)).toEqual([]);
  });

  it("throughputBars scales to the busiest minute, keeps a busy minute visible and an idle hour flat", () => {
    const minutes = (counts: number[]) => counts.map((processed, index) => ({ minute: new Date(index * 60_000).toISOString(), processed }));
    const { peak, bars } = format.throughputBars(minutes([0, 1, 200, 100]), 100);
    expect(peak).toBe(200);
    expect(bars.map((bar) => bar.height)).toEqual([0, 1, 100, 50]);
    const idle = format.throughputBars(minutes([0, 0]), 100);
    expect(idle.peak).toBe(1);
    expect(idle.bars.map((bar) => bar.height)).toEqual([0, 0]);
  });

  it("nextRefreshDelay allows one refresh per interval", () => {
    expect(format.nextRefreshDelay(0, 10_000, 500)).toBe(0);
    expect(format.nextRefreshDelay(10_000, 10_200, 500)).toBe(300);
  });
});
