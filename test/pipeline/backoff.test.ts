import { describe, it, expect } from "vitest";
import { DEFAULT_RETRY_POLICY, nextRetry, parseDuration, parseRetrySchedule } from "../../src/pipeline/backoff.js";

describe("nextRetry", () => {
  it("waits 30 s, 5 min, 30 min, 2 h by default, then gives up after the 5th attempt", () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({ scheduleSeconds: [30, 300, 1800, 7200], maxAttempts: 5 });
    expect([1, 2, 3, 4, 5].map((n) => nextRetry(n, DEFAULT_RETRY_POLICY))).toEqual([
      { retry: true, delaySeconds: 30 },
      { retry: true, delaySeconds: 300 },
      { retry: true, delaySeconds: 1800 },
      { retry: true, delaySeconds: 7200 },
      { retry: false },
    ]);
  });

  it("does not retry once attempts are exhausted", () => {
    expect(nextRetry(6, DEFAULT_RETRY_POLICY)).toEqual({ retry: false });
    expect(nextRetry(1, { scheduleSeconds: [30], maxAttempts: 1 })).toEqual({ retry: false });
  });

  it("repeats the last delay when the schedule is shorter than the attempts", () => {
    const policy = { scheduleSeconds: [10, 20], maxAttempts: 5 };
    expect([1, 2, 3, 4].map((n) => nextRetry(n, policy))).toEqual([
      { retry: true, delaySeconds: 10 },
      { retry: true, delaySeconds: 20 },
      { retry: true, delaySeconds: 20 },
      { retry: true, delaySeconds: 20 },
    ]);
  });

  it("throws when attemptsMade is not an integer >= 1", () => {
    expect(() => nextRetry(0, DEFAULT_RETRY_POLICY)).toThrow(/attemptsMade/);
    expect(() => nextRetry(1.5, DEFAULT_RETRY_POLICY)).toThrow(/attemptsMade/);
  });

  it("throws when a retry is due but the schedule is empty", () => {
    expect(() => nextRetry(1, { scheduleSeconds: [], maxAttempts: 3 })).toThrow(/empty/);
  });
});

describe("parseRetrySchedule", () => {
  it("parses s, m and h units into seconds", () => {
    expect(parseRetrySchedule("30s,5m,30m,2h")).toEqual([30, 300, 1800, 7200]);
  });

  it("reads plain numbers as seconds", () => {
    expect(parseRetrySchedule("45")).toEqual([45]);
    expect(parseRetrySchedule("10,1m")).toEqual([10, 60]);
  });

  it("allows spaces around parts, and zero", () => {
    expect(parseRetrySchedule(" 30s , 5m ")).toEqual([30, 300]);
    expect(parseRetrySchedule("0s")).toEqual([0]);
  });

  it("throws on an empty schedule", () => {
    expect(() => parseRetrySchedule("")).toThrow(/empty/);
    expect(() => parseRetrySchedule("   ")).toThrow(/empty/);
  });

  it("throws naming the bad part", () => {
    expect(() => parseRetrySchedule("30s,,5m")).toThrow('bad part ""');
    expect(() => parseRetrySchedule("30s,-5s")).toThrow('bad part "-5s"');
    expect(() => parseRetrySchedule("5d")).toThrow('bad part "5d"');
    expect(() => parseRetrySchedule("5M")).toThrow('bad part "5M"');
    expect(() => parseRetrySchedule("1.5m")).toThrow('bad part "1.5m"');
    expect(() => parseRetrySchedule("m")).toThrow('bad part "m"');
    expect(() => parseRetrySchedule("30s;5m")).toThrow('bad part "30s;5m"');
  });
});

describe("parseDuration", () => {
  it("reads s, m, h and d, and a bare number as seconds", () => {
    expect(["90s", "5m", "24h", "7d", "45", " 2 h "].map((text) => parseDuration(text))).toEqual([90, 300, 86_400, 604_800, 45, 7200]);
  });

  it("is undefined for anything else, and for a unit not allowed", () => {
    expect(parseDuration("5d", "smh")).toBeUndefined();
    expect(["", "soon", "5 minutes", "1.5h", "-3s"].map((text) => parseDuration(text))).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });
});
