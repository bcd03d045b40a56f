// Small pieces the scenarios share.
import type pg from "pg";
import type { BenchContext, Collector } from "../context.js";
import type { ScenarioId } from "../results.js";
import { waitProcessed, type Design, type DesignId } from "../design.js";
import { sequential } from "../load.js";
import { makePayloads, type PayloadSet } from "../payloads.js";

/** A few calls before measuring: opens connections, prepares statements, wakes the workers. */
export async function warmUp(design: Design, label: string, count = 5, waitForProcessing = design.processes): Promise<void> {
  const set = makePayloads(count, 7, `warm_${label}`);
  const load = await sequential(count, (i) => design.write(set.payloads[i]!, set.json[i]!));
  if (load.errors > 0) throw new Error(`${design.id}: warm-up writes failed: ${load.firstError}`);
  if (waitForProcessing) await waitProcessed(design.pool, `warm_${label}_`, count, 30_000);
}

/** The designs a timed scenario runs, in a fixed order. */
export function timedDesigns(context: BenchContext, ids: readonly DesignId[]): Design[] {
  return ids
    .filter((id) => context.plan.pollingTenInTimedScenarios || id !== "polling-10s")
    .map((id) => context.designs.get(id))
    .filter((design): design is Design => design !== undefined);
}

/** How long to wait for a design to process a load: its polling interval plus a margin. */
export function processingTimeoutMs(design: Design, loadCount: number): number {
  const interval = design.id === "polling-10s" ? 10_000 : design.id === "polling-1s" ? 1_000 : 0;
  return interval + 30_000 + loadCount * 20;
}

/**
 * Commit-to-start and commit-to-PROCESSED distributions. The synchronous
 * design has none: it processes before the caller's call returns.
 */
export function recordProcessing(
  results: Collector, scenario: ScenarioId, design: Design,
  latency: { start: number[]; processed: number[]; unfinished: number },
): void {
  if (design.id === "synchronous") {
    for (const measure of ["commit to worker start", "commit to PROCESSED"]) {
      results.value(scenario, `${measure} p50`, "ms", "lower", design.id, null, "none: processed before the caller's call returns");
    }
    return;
  }
  const note = design.id === "memory-queue" ? "from the acknowledgement; nothing is committed before the flush" : undefined;
  results.distribution(scenario, "commit to worker start", design.id, latency.start, note, latency.unfinished);
  results.distribution(scenario, "commit to PROCESSED", design.id, latency.processed, note, latency.unfinished);
}

/** Conversations and seconds from the first claim (or creation) to the last PROCESSED, for ids with this prefix. */
export async function drainTime(pool: pg.Pool, prefix: string, from: "claim" | "created"): Promise<{ count: number; seconds: number }> {
  const { rows: [row] } = await pool.query<{ count: number; seconds: number | null }>(
    `select count(*)::int as count,
            extract(epoch from max(processed_at) - min(${from === "claim" ? "last_attempt_at" : "created_at"}))::float8 as seconds
     from parley.conversation_events where status = 'PROCESSED' and starts_with(conversation_id, $1)`, [prefix]);
  return { count: row?.count ?? 0, seconds: row?.seconds ?? 0 };
}

/** A backlog split into the batches it is loaded in, outside the timing, before a drain. */
export function preloadBatches(set: PayloadSet, size = 200): PayloadSet[] {
  const batches: PayloadSet[] = [];
  for (let i = 0; i < set.payloads.length; i += size) {
    batches.push({ payloads: set.payloads.slice(i, i + size), json: set.json.slice(i, i + size) });
  }
  return batches;
}
