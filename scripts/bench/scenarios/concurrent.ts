// Scenario 2: 100 conversations arriving at once (a burst), a few rounds.
// Caller latency, the time until all are stored, and until all are processed.
import type { BenchContext } from "../context.js";
import { DESIGN_IDS, waitProcessed } from "../design.js";
import { burst } from "../load.js";
import { makePayloads } from "../payloads.js";
import { processingTimeoutMs, timedDesigns, warmUp } from "./common.js";

export async function runConcurrent(context: BenchContext): Promise<void> {
  const { plan, results } = context;
  if (plan.concurrentCount < 100) results.note(`Scenario 2 used bursts of ${plan.concurrentCount} (--quick); the full run uses 100.`);
  const total = plan.concurrentCount * plan.concurrentRounds;
  const set = makePayloads(total, context.seed + 1, "s2");
  for (const design of timedDesigns(context, DESIGN_IDS)) {
    context.progress(`2. concurrent: ${design.id}, ${plan.concurrentRounds} burst(s) of ${plan.concurrentCount}`);
    await warmUp(design, `s2_${design.id.replace(/-/g, "_")}`);
    const latencies: number[] = [];
    const stored: number[] = [];
    const processed: number[] = [];
    for (let round = 0; round < plan.concurrentRounds; round++) {
      const offset = round * plan.concurrentCount;
      const ids = set.payloads.slice(offset, offset + plan.concurrentCount).map((payload) => payload.conversation_id);
      const { rows: [clock] } = await design.pool.query<{ at: Date }>("select clock_timestamp() as at");
      const load = await burst(plan.concurrentCount, (i) => design.write(set.payloads[i]!, set.json[i]!), offset);
      if (load.errors > 0) throw new Error(`${design.id}: ${load.errors} writes failed: ${load.firstError}`);
      latencies.push(...load.latencies);
      stored.push(load.seconds * 1000);
      if (design.processes) {
        const wait = await waitProcessed(design.pool, "s2_", offset + plan.concurrentCount, processingTimeoutMs(design, plan.concurrentCount), 50);
        // From the database's clock, so the polling above does not blur it.
        const { rows: [last] } = await design.pool.query<{ ms: number }>(
          `select extract(epoch from max(processed_at) - $2::timestamptz)::float8 * 1000 as ms
           from parley.conversation_events where conversation_id = any($1::text[])`, [ids, clock!.at]);
        if (!wait.timedOut) processed.push(last!.ms);
      }
    }
    results.distribution("concurrent", "caller write", design.id, latencies);
    results.value("concurrent", "burst: all acknowledged after (mean)", "ms", "lower", design.id, mean(stored));
    results.value("concurrent", "burst: all PROCESSED after (mean)", "ms", "lower", design.id,
      design.processes ? mean(processed) : null, design.processes ? undefined : "does not process");
  }
}

function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}
