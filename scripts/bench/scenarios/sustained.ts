// Scenario 3: a sustained arrival rate (200 conversations/s) for a while.
// Caller latency, commit to worker start, commit to PROCESSED, and the backlog
// (acknowledged but not yet PROCESSED) over time.
import type { BenchContext } from "../context.js";
import { processingLatencies, progress, waitProcessed, type DesignId } from "../design.js";
import { openLoop, sampler } from "../load.js";
import { makePayloads } from "../payloads.js";
import { summarize } from "../stats.js";
import { recordProcessing, timedDesigns, warmUp } from "./common.js";

const CORE: readonly DesignId[] = ["parley", "memory-queue"];
const ALL: readonly DesignId[] = ["parley", "synchronous", "memory-queue", "polling-10s", "polling-1s", "raw-floor"];

export async function runSustained(context: BenchContext): Promise<void> {
  const { plan, results } = context;
  const count = Math.round(plan.sustainedRate * plan.sustainedSeconds);
  const set = makePayloads(count, context.seed + 2, "s3");
  const designs = timedDesigns(context, plan.sustainedDesigns === "all" ? ALL : CORE);
  if (plan.sustainedDesigns !== "all") {
    results.note("Scenario 3 ran Parley and the memory queue only (--quick); the full run adds the synchronous design, both pollers and the raw floor.");
  }
  for (const design of designs) {
    context.progress(`3. sustained: ${design.id}, ${plan.sustainedRate}/s for ${plan.sustainedSeconds} s`);
    await warmUp(design, `s3_${design.id.replace(/-/g, "_")}`);
    let acknowledged = 0;
    const backlog = sampler(500, async () => acknowledged - (design.processes ? (await progress(design.pool, "s3_")).processed : acknowledged));
    const load = await openLoop({ rate: plan.sustainedRate, seconds: plan.sustainedSeconds, maxInFlight: 64, graceSeconds: 5 }, async (i) => {
      await design.write(set.payloads[i]!, set.json[i]!);
      acknowledged += 1;
    });
    if (load.errors > 0) throw new Error(`${design.id}: ${load.errors} writes failed: ${load.firstError}`);
    const waitSeconds = plan.drainWaitSeconds + (design.id === "polling-10s" ? 10 : 0);
    if (design.processes) await waitProcessed(design.pool, "s3_", acknowledged, waitSeconds * 1000, 100);
    const points = await backlog.stop();
    results.backlog.push({ design: design.id, points });

    results.distribution("sustained", "caller write", design.id, load.latencies, undefined, load.shed);
    results.value("sustained", "acknowledged", "conv", "higher", design.id, acknowledged,
      load.shed > 0 ? `${load.shed} of ${count} arrivals shed: it could not take ${plan.sustainedRate}/s` : undefined);
    results.value("sustained", "largest backlog", "conv", "lower", design.id,
      design.processes ? Math.max(0, ...points.map(([, value]) => value)) : null, design.processes ? undefined : "does not process");
    if (!design.processes) continue;
    const latency = await processingLatencies(design.pool, load.succeeded.map((i) => set.payloads[i]!.conversation_id), load.acknowledgedAt);
    const unfinished = latency.unfinished;
    results.value("sustained", "not PROCESSED by the end of the wait", "conv", "lower", design.id, unfinished,
      `waited ${waitSeconds} s after the load`);
    recordProcessing(results, "sustained", design, latency);
    if (design.id === "parley") {
      const censored = (values: number[]) => [...values, ...Array.from({ length: unfinished }, () => Number.POSITIVE_INFINITY)];
      // Infinity when the percentile falls among the unfinished: missed, not "not measured".
      results.target("worker_start_p50_ms", summarize(censored(latency.start))?.p50 ?? null);
      results.target("processed_p99_ms", summarize(censored(latency.processed))?.p99 ?? null);
    }
  }
  await highRate(context);
}

/** Parley alone at the higher rate: commit to PROCESSED while the worker keeps up with more. */
async function highRate(context: BenchContext): Promise<void> {
  const { plan, results } = context;
  const parley = timedDesigns(context, ["parley"])[0];
  if (!parley) return;
  const rate = plan.sustainedHighRate;
  const count = Math.round(rate * plan.sustainedSeconds);
  const set = makePayloads(count, context.seed + 9, "s3h");
  context.progress(`3. sustained: parley, ${rate}/s for ${plan.sustainedSeconds} s`);
  await warmUp(parley, "s3h_parley");
  const load = await openLoop({ rate, seconds: plan.sustainedSeconds, maxInFlight: 64, graceSeconds: 5 }, async (i) => {
    await parley.write(set.payloads[i]!, set.json[i]!);
  });
  if (load.errors > 0) throw new Error(`parley at ${rate}/s: ${load.errors} writes failed: ${load.firstError}`);
  await waitProcessed(parley.pool, "s3h_", load.succeeded.length, plan.drainWaitSeconds * 1000, 100);
  const latency = await processingLatencies(parley.pool, load.succeeded.map((i) => set.payloads[i]!.conversation_id), load.acknowledgedAt);
  const metric = `at ${rate}/s: commit to PROCESSED`;
  results.distribution("sustained", metric, "parley", latency.processed, `${load.succeeded.length} conversations, ${load.shed} shed`, latency.unfinished);
  const censored = [...latency.processed, ...Array.from({ length: latency.unfinished }, () => Number.POSITIVE_INFINITY)];
  results.target("processed_p99_500_ms", summarize(censored)?.p99 ?? null);
}
