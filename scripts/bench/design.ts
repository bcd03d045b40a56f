// What every design under test offers the scenarios: a write path, and
// (except the raw floor) something that processes what was written. Each
// design owns one database; processing results are read back from it with the
// same SQL for all, so every figure is measured the same way.
import type pg from "pg";
import type { Payload } from "./payloads.js";

export const DESIGN_IDS = ["parley", "synchronous", "memory-queue", "polling-10s", "polling-1s", "raw-floor"] as const;
export type DesignId = (typeof DESIGN_IDS)[number];

export const DESIGN_LABELS: Record<DesignId, string> = {
  parley: "Parley",
  synchronous: "synchronous",
  "memory-queue": "memory queue",
  "polling-10s": "polling 10 s",
  "polling-1s": "polling 1 s",
  "raw-floor": "raw floor",
};

export interface ProcessingOptions {
  embedder: "hashing" | "local";
  /** Processes (Parley workers) or in-process concurrency (baselines). */
  workers: number;
  concurrency: number;
}

export interface Design {
  readonly id: DesignId;
  /** Its database, and a pool on it for the scenario's own queries. */
  readonly url: string;
  readonly pool: pg.Pool;
  /** Whether written conversations get processed at all (the raw floor does not). */
  readonly processes: boolean;
  /** Stores one ended conversation; resolves when the caller would be told it is stored. */
  write(payload: Payload, json: string): Promise<void>;
  /** Stores many at once, where the design has a bulk path. */
  writeMany?(payloads: readonly Payload[], json: readonly string[]): Promise<void>;
  /** Starts whatever processes conversations in the background (no-op when inline or none). */
  startProcessing(options: ProcessingOptions): Promise<void>;
  stopProcessing(): Promise<void>;
  /** PIDs of the design's background processes, for RSS and fault injection. */
  backgroundPids(): number[];
  /** Stops everything; `abandon` SIGKILLs background processes instead of letting them finish their work. */
  close(options?: { abandon?: boolean }): Promise<void>;
}

/**
 * For each acknowledged conversation: from the moment the caller's write
 * returned (its commit, as the caller sees it) to the worker's claim
 * (last_attempt_at, the claim's now()) and to PROCESSED (processed_at), in
 * ms. Both clocks are this machine's wall clock. `unfinished` counts those
 * not PROCESSED (yet).
 */
export async function processingLatencies(
  pool: pg.Pool, conversationIds: readonly string[], acknowledgedAt: readonly number[],
): Promise<{ start: number[]; processed: number[]; unfinished: number }> {
  const { rows } = await pool.query<{ conversation_id: string; started: number; processed: number }>(
    `select conversation_id,
            extract(epoch from last_attempt_at)::float8 * 1000 as started,
            extract(epoch from processed_at)::float8 * 1000 as processed
     from parley.conversation_events
     where status = 'PROCESSED' and conversation_id = any($1::text[])`,
    [conversationIds],
  );
  const byId = new Map(rows.map((row) => [row.conversation_id, row]));
  const start: number[] = [];
  const processed: number[] = [];
  conversationIds.forEach((id, i) => {
    const row = byId.get(id);
    if (!row) return;
    start.push(row.started - acknowledgedAt[i]!);
    processed.push(row.processed - acknowledgedAt[i]!);
  });
  return { start, processed, unfinished: conversationIds.length - rows.length };
}

/** How many conversations with this id prefix are stored, and how many are PROCESSED. */
export async function progress(pool: pg.Pool, prefix: string): Promise<{ stored: number; processed: number }> {
  const { rows } = await pool.query<{ stored: number; processed: number }>(
    `select count(*)::int as stored, count(*) filter (where status = 'PROCESSED')::int as processed
     from parley.conversation_events where starts_with(conversation_id, $1)`,
    [prefix],
  );
  return rows[0]!;
}

/** Waits until `expected` conversations with the prefix are PROCESSED; returns how many were, and when. */
export async function waitProcessed(
  pool: pg.Pool, prefix: string, expected: number, timeoutMs: number, pollMs = 100,
): Promise<{ processed: number; seconds: number; timedOut: boolean }> {
  const started = performance.now();
  for (;;) {
    const { processed } = await progress(pool, prefix);
    const seconds = (performance.now() - started) / 1000;
    if (processed >= expected) return { processed, seconds, timedOut: false };
    if (seconds * 1000 >= timeoutMs) {
      process.stderr.write(`  waited ${seconds.toFixed(0)} s for ${expected} PROCESSED under ${prefix}*, got ${processed}: ${await unfinishedSummary(pool, prefix)}\n`);
      return { processed, seconds, timedOut: true };
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** "PENDING 7 (processing_error: <details>), FAILED 1 (...)": why conversations are not PROCESSED, for the progress log. */
async function unfinishedSummary(pool: pg.Pool, prefix: string): Promise<string> {
  const { rows } = await pool.query<{ status: string; count: number; error: string | null }>(
    `select status, count(*)::int as count, min(error_code || ': ' || left(error_details, 160)) as error
     from parley.conversation_events
     where starts_with(conversation_id, $1) and status <> 'PROCESSED'
     group by status order by status`, [prefix]);
  return rows.map((row) => `${row.status} ${row.count}${row.error ? ` (${row.error})` : ""}`).join(", ") || "nothing stored";
}
