// When a failed conversation event is tried again. Pure: data in, data out.

import type { RetryPolicy } from "../domain.js";

/** 30 s, 5 min, 30 min, 2 h between attempts; FAILED after the 5th attempt fails. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { scheduleSeconds: [30, 300, 1800, 7200], maxAttempts: 5 };

/**
 * What to do after attempt `attemptsMade` (1-based) failed: stop once `maxAttempts` attempts were
 * made, else wait `scheduleSeconds[attemptsMade - 1]` (the last entry repeats when the schedule is
 * shorter than `maxAttempts - 1`).
 */
export function nextRetry(
  attemptsMade: number,
  policy: RetryPolicy,
): { retry: true; delaySeconds: number } | { retry: false } {
  if (!Number.isInteger(attemptsMade) || attemptsMade < 1) {
    throw new RangeError(`nextRetry: attemptsMade must be an integer >= 1, got ${attemptsMade}`);
  }
  if (attemptsMade >= policy.maxAttempts) return { retry: false };
  const { scheduleSeconds } = policy;
  const delaySeconds = scheduleSeconds[Math.min(attemptsMade - 1, scheduleSeconds.length - 1)];
  if (delaySeconds === undefined) throw new RangeError("nextRetry: the retry schedule is empty");
  return { retry: true, delaySeconds };
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { "": 1, s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * One duration such as "90s", "5m", "24h" or "7d" (a bare number is seconds), in seconds;
 * undefined if it is not one. `units` are the unit letters allowed.
 */
export function parseDuration(text: string, units = "smhd"): number | undefined {
  const match = /^\s*(\d+)\s*([a-z]?)\s*$/.exec(text);
  const letter = match?.[2] ?? "";
  const unit = letter === "" || units.includes(letter) ? UNIT_SECONDS[letter] : undefined;
  return match === null || unit === undefined ? undefined : Number(match[1]) * unit;
}

/**
 * Parses a retry schedule such as "30s,5m,30m,2h" into seconds ([30, 300, 1800, 7200]).
 * Each comma-separated part is a duration in s, m or h (parseDuration); spaces around parts are allowed.
 * Anything else throws an Error naming the bad part.
 */
export function parseRetrySchedule(text: string): number[] {
  if (text.trim() === "") throw new Error("retry schedule is empty: expected e.g. \"30s,5m,30m,2h\"");
  return text.split(",").map((raw) => {
    const part = raw.trim();
    const seconds = parseDuration(part, "smh");
    if (seconds === undefined) {
      throw new Error(
        `retry schedule "${text}": bad part "${part}": expected a whole number of seconds with an optional unit s, m or h, e.g. "30s" or "5m"`,
      );
    }
    return seconds;
  });
}
