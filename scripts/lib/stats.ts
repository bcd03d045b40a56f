// `npm run stats`: pipeline health from plain SQL. `readStats` runs the queries (each one an
// operator could paste into psql); `renderStats` turns the result into text and does no I/O.
import type pg from "pg";

export interface StatsSnapshot {
  at: Date;
  database: string;
  totals: {
    pending: number;
    processing: number;
    processed: number;
    failed: number;
    oldest_pending_seconds: number | null;
    processed_last_hour: number;
    latency_p50_seconds: number | null;
    latency_p95_seconds: number | null;
    latency_p99_seconds: number | null;
  };
  recent: { processed_last_minute: number; processed_last_5_minutes: number };
  retries: { waiting: number; next_retry_at: Date | null; by_error_code: Array<{ error_code: string; count: number }> };
  failed: Array<{ error_code: string; count: number; last_at: Date | null; example: string | null }>;
  jobs: { running: number; due: number; scheduled: number };
  workers: Array<{ worker_id: string; hostname: string; pid: number; started_at: Date; last_seen_at: Date; silent_seconds: number }>;
}

const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));
const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

export async function readStats(pool: pg.Pool, database: string): Promise<StatsSnapshot> {
  const client = await pool.connect();
  try {
    // One snapshot: every query sees the same committed state.
    await client.query("begin isolation level repeatable read read only");
    const totals = (await client.query("select * from parley.pipeline_stats")).rows[0];
    // The partial index on processed_at (status = 'PROCESSED') keeps these two cheap.
    const recent = (await client.query(`
      select count(*) filter (where processed_at > now() - interval '1 minute') as processed_last_minute,
             count(*) as processed_last_5_minutes
      from parley.conversation_events
      where status = 'PROCESSED' and processed_at > now() - interval '5 minutes'`)).rows[0];
    // Unfinished events that already failed at least once wait for their next attempt.
    const retries = (await client.query(`
      select count(*) as waiting, min(next_attempt_at) as next_retry_at
      from parley.conversation_events
      where status in ('PENDING', 'PROCESSING') and attempt_count > 0 and error_code is not null`)).rows[0];
    const retryCodes = (await client.query(`
      select error_code, count(*) as count
      from parley.conversation_events
      where status in ('PENDING', 'PROCESSING') and attempt_count > 0 and error_code is not null
      group by error_code order by count(*) desc, error_code limit 10`)).rows;
    // FAILED events by error_code come from the view the dashboard reads, with each group's latest details.
    const failed = (await client.query(`
      select f.error_code, f.events as count, f.last_failed_at as last_at,
             (select e.error_details from parley.conversation_events e
              where e.status = 'FAILED' and e.error_code is not distinct from f.error_code
              order by e.event_id desc limit 1) as example
      from parley.failures_by_code f
      order by f.events desc, f.error_code limit 10`)).rows;
    const jobs = (await client.query(`
      select count(*) filter (where locked_at is not null) as running,
             count(*) filter (where locked_at is null and run_at <= now()) as due,
             count(*) filter (where locked_at is null and run_at > now()) as scheduled
      from graphile_worker._private_jobs
      where task_id = (select id from graphile_worker._private_tasks where identifier = 'process_conversation')
        and attempts < max_attempts`)).rows[0];
    const workers = (await client.query(`
      select worker_id, hostname, pid, started_at, last_seen_at,
             extract(epoch from now() - last_seen_at)::float8 as silent_seconds
      from parley.worker_heartbeats order by started_at`)).rows;
    const at = (await client.query("select now() as at")).rows[0].at as Date;
    await client.query("commit");
    return {
      at,
      database,
      totals: {
        pending: num(totals.pending),
        processing: num(totals.processing),
        processed: num(totals.processed),
        failed: num(totals.failed),
        oldest_pending_seconds: numOrNull(totals.oldest_pending_seconds),
        processed_last_hour: num(totals.processed_last_hour),
        latency_p50_seconds: numOrNull(totals.latency_p50_seconds),
        latency_p95_seconds: numOrNull(totals.latency_p95_seconds),
        latency_p99_seconds: numOrNull(totals.latency_p99_seconds),
      },
      recent: { processed_last_minute: num(recent.processed_last_minute), processed_last_5_minutes: num(recent.processed_last_5_minutes) },
      retries: {
        waiting: num(retries.waiting),
        next_retry_at: retries.next_retry_at ?? null,
        by_error_code: retryCodes.map((row) => ({ error_code: row.error_code, count: num(row.count) })),
      },
      failed: failed.map((row) => ({ error_code: row.error_code ?? "(none)", count: num(row.count), last_at: row.last_at ?? null, example: row.example ?? null })),
      jobs: { running: num(jobs.running), due: num(jobs.due), scheduled: num(jobs.scheduled) },
      workers: workers.map((row) => ({ ...row, pid: num(row.pid), silent_seconds: num(row.silent_seconds) })),
    };
  } catch (error) {
    await client.query("rollback").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** "1.2 s", "340 ms", "4m 05s", "2h 10m", "—" for nothing. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86400)}d ${String(Math.floor((s % 86400) / 3600)).padStart(2, "0")}h`;
}

function ago(at: Date | null, now: Date): string {
  return at === null ? "—" : `${formatDuration(Math.max(0, (now.getTime() - at.getTime()) / 1000))} ago`;
}

function until(at: Date | null, now: Date): string {
  if (at === null) return "—";
  const seconds = (at.getTime() - now.getTime()) / 1000;
  return seconds <= 0 ? "due now" : `in ${formatDuration(seconds)}`;
}

function table(rows: string[][], indent = "  "): string[] {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]!.length))) ?? [];
  return rows.map((row) => indent + row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join("   ").trimEnd());
}

/** The report, as plain text lines. `staleAfterSeconds` decides which workers count as live. */
export function renderStats(stats: StatsSnapshot, options: { staleAfterSeconds: number }): string {
  const { totals, recent, retries, failed, jobs, workers, at } = stats;
  const lines: string[] = [];
  lines.push(`Parley pipeline · ${at.toISOString().replace("T", " ").slice(0, 19)} UTC · ${stats.database}`);
  lines.push("");
  lines.push("Events");
  lines.push(...table([
    ["pending", "processing", "processed", "failed", "oldest unfinished"],
    [String(totals.pending), String(totals.processing), String(totals.processed), String(totals.failed), formatDuration(totals.oldest_pending_seconds)],
  ]));
  lines.push("");
  lines.push("Throughput and latency (commit to PROCESSED)");
  lines.push(...table([
    ["last minute", "last 5 min", "last hour", "p50", "p95", "p99 (last hour)"],
    [
      String(recent.processed_last_minute), String(recent.processed_last_5_minutes), String(totals.processed_last_hour),
      formatDuration(totals.latency_p50_seconds), formatDuration(totals.latency_p95_seconds), formatDuration(totals.latency_p99_seconds),
    ],
  ]));
  lines.push("");
  lines.push(`Jobs   running ${jobs.running} · due ${jobs.due} · scheduled for later ${jobs.scheduled}`);
  lines.push("");
  if (retries.waiting === 0) {
    lines.push("Retries waiting: none");
  } else {
    lines.push(`Retries waiting: ${retries.waiting} (next ${until(retries.next_retry_at, at)}), by last error_code`);
    lines.push(...table(retries.by_error_code.map((row) => [row.error_code, String(row.count)])));
  }
  lines.push("");
  if (failed.length === 0) {
    lines.push("Failed: none");
  } else {
    lines.push("Failed by error_code (parley.retry_event(event_id) puts one back)");
    lines.push(...table(failed.map((row) => [row.error_code, String(row.count), `last ${ago(row.last_at, at)}`, clip(row.example ?? "", 70)])));
  }
  lines.push("");
  const live = workers.filter((worker) => worker.silent_seconds <= options.staleAfterSeconds);
  lines.push(`Workers: ${live.length} live${workers.length > live.length ? `, ${workers.length - live.length} silent` : ""}`);
  if (workers.length > 0) {
    lines.push(...table(workers.map((worker) => [
      worker.worker_id, `${worker.hostname}:${worker.pid}`, `up ${formatDuration((at.getTime() - worker.started_at.getTime()) / 1000)}`,
      `seen ${formatDuration(worker.silent_seconds)} ago`, worker.silent_seconds <= options.staleAfterSeconds ? "live" : "SILENT",
    ])));
  } else {
    lines.push("  no worker has a heartbeat: start one with `npm run worker` (or `npm start`)");
  }
  return lines.join("\n");
}

function clip(text: string, length: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > length ? `${flat.slice(0, length - 1)}…` : flat;
}

/** The URL without its password, to show which database the numbers come from. */
export function describeDatabase(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`;
  } catch {
    return "database";
  }
}
