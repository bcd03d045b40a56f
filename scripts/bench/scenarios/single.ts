// Scenario 1: one conversation stored at a time. One caller writes a
// conversation every 1/singleRate s, so nothing queues anywhere: the caller's
// latency is the write path's own (for the synchronous design that includes
// processing), and the processing latencies are each design's own pick-up
// delay (LISTEN/NOTIFY, flush interval, polling interval), free of backlog.
// Every design runs with its background processing on, as in production;
// Parley is measured a second time with its workers paused, which isolates
// end_conversation itself (on 2 cores a worker processing the previous
// conversation competes with it for the CPU).
import type { BenchContext } from "../context.js";
import { DESIGN_IDS, processingLatencies, waitProcessed, type Design } from "../design.js";
import { openLoop } from "../load.js";
import { makePayloads, type PayloadSet } from "../payloads.js";
import { summarize } from "../stats.js";
import { processingTimeoutMs, recordProcessing, timedDesigns, warmUp } from "./common.js";

export async function runSingle(context: BenchContext): Promise<void> {
  const { plan, results } = context;
  const set = makePayloads(plan.singleCount, context.seed, "s1");
  for (const design of timedDesigns(context, DESIGN_IDS)) {
    context.progress(`1. single: ${design.id}, ${plan.singleCount} conversations, one every ${1000 / plan.singleRate} ms`);
    await warmUp(design, `s1_${design.id.replace(/-/g, "_")}`);
    const { latencies, ids, acknowledgedAt } = await measure(design, set, plan.singleRate);
    results.distribution("single", "caller write", design.id, latencies,
      design.id === "synchronous" ? "includes processing, inline"
        : design.id === "memory-queue" ? "one IPC round trip to the app process"
          : design.id === "parley" ? "a worker processes each conversation as it lands, on the same 2 cores" : undefined);
    if (design.processes) {
      await waitProcessed(design.pool, "s1_", plan.singleCount, processingTimeoutMs(design, plan.singleCount));
      const latency = await processingLatencies(design.pool, ids, acknowledgedAt);
      recordProcessing(results, "single", design, latency);
      if (design.id === "parley") {
        results.note(`Without a backlog (scenario 1, ${plan.singleRate}/s), Parley's commit to worker start was p50 ${summarize(latency.start)?.p50.toFixed(1)} ms and commit to PROCESSED p99 ${summarize(latency.processed)?.p99.toFixed(1)} ms; the targets are judged at ${plan.sustainedRate}/s (scenario 3).`);
      }
    }

    if (design.id === "parley") {
      context.progress("1. single: parley again with its workers paused (end_conversation alone)");
      await design.stopProcessing();
      const { latencies: alone } = await measure(design, makePayloads(plan.singleCount, context.seed, "s1p"), plan.singleRate);
      results.distribution("single", "caller write, workers paused", "parley", alone);
      const p99 = summarize(alone)?.p99 ?? null;
      results.target("write_p99_ms", p99);
      results.note(`The write-path target is judged on end_conversation alone (workers paused: p99 ${p99?.toFixed(2)} ms); with a worker processing on the same cores, p99 was ${summarize(latencies)?.p99.toFixed(2)} ms (scenario 1).`);
      await design.startProcessing({ embedder: "hashing", workers: plan.workers, concurrency: plan.concurrency });
      await waitProcessed(design.pool, "s1p_", plan.singleCount, processingTimeoutMs(design, plan.singleCount));
    }
  }
}

/** One caller, one call in flight, a new conversation every 1/rate s. */
async function measure(design: Design, set: PayloadSet, rate: number) {
  const count = set.payloads.length;
  const load = await openLoop({ rate, seconds: count / rate, maxInFlight: 1, graceSeconds: 60 },
    (i) => design.write(set.payloads[i]!, set.json[i]!));
  if (load.errors > 0 || load.shed > 0) throw new Error(`${design.id}: ${load.errors} writes failed, ${load.shed} shed: ${load.firstError}`);
  return { latencies: load.latencies, ids: load.succeeded.map((i) => set.payloads[i]!.conversation_id), acknowledgedAt: load.acknowledgedAt };
}
