// The apply_retention cron task: when PARLEY_MESSAGE_RETENTION is set, deletes
// the messages of PROCESSED conversations older than that, through
// parley.apply_retention, one bounded chunk per transaction.
import { sql } from "kysely";
import type { Task } from "graphile-worker";
import type { Db } from "../db/pool.js";
import type { Logger } from "../log.js";

/** Every 10 minutes; a run catches up on whatever became old since the last. */
export const RETENTION_CRON = "*/10 * * * * apply_retention ?max=1";
/** Conversations per call of parley.apply_retention: each call is its own short transaction. */
export const RETENTION_BATCH = 500;
/** A run stops after this long and leaves the rest to the next, so it never holds a worker slot for long. */
export const RETENTION_RUN_MS = 60_000;

const UNITS: Record<string, string> = {
  s: "seconds", sec: "seconds", second: "seconds", seconds: "seconds",
  m: "minutes", min: "minutes", minute: "minutes", minutes: "minutes",
  h: "hours", hour: "hours", hours: "hours",
  d: "days", day: "days", days: "days",
  w: "weeks", week: "weeks", weeks: "weeks",
  month: "months", months: "months",
  y: "years", year: "years", years: "years",
};

/**
 * A retention period as PostgreSQL reads an interval: "90 days", "90d",
 * "1 year 6 months", "12h". Throws a RangeError naming the problem otherwise
 * (config.ts turns it into one line naming the variable).
 */
export function parseRetention(text: string): string {
  const parts = [...text.trim().toLowerCase().matchAll(/(\d+)\s*([a-z]+)\s*,?\s*/gy)];
  const consumed = parts.reduce((length, part) => length + part[0].length, 0);
  if (parts.length === 0 || consumed !== text.trim().length) {
    throw new RangeError(`must be a period like "90 days", "12h" or "1 year 6 months" (got ${JSON.stringify(text)})`);
  }
  const canonical = parts.map(([, amount, unit]) => {
    const name = UNITS[unit!];
    if (name === undefined) throw new RangeError(`unknown unit "${unit}" (use seconds, minutes, hours, days, weeks, months or years)`);
    return `${Number(amount)} ${name}`;
  });
  if (parts.every(([, amount]) => Number(amount) === 0)) throw new RangeError("must be longer than zero");
  return canonical.join(" ");
}

/** The task; does nothing when no retention is configured (unset keeps every message). */
export function applyRetentionTask(db: Db, log: Logger, olderThan: string | undefined, runMs = RETENTION_RUN_MS): Task {
  return async (_payload, helpers) => {
    if (olderThan === undefined) return;
    const started = Date.now();
    let deleted = 0;
    for (;;) {
      const { rows } = await sql<{ deleted: string }>`
        select parley.apply_retention(${olderThan}::interval, ${RETENTION_BATCH}) as deleted`.execute(db);
      const chunk = Number(rows[0]?.deleted ?? 0);
      deleted += chunk;
      if (chunk === 0 || helpers.abortSignal?.aborted || Date.now() - started > runMs) break;
    }
    if (deleted > 0) log.info({ deleted_messages: deleted, older_than: olderThan }, "message retention applied");
  };
}
