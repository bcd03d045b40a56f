// Fault run: the sustained load again, and half-way through the process that
// holds the design's pending work is killed with SIGKILL, then restarted.
// Lost = acknowledged to the caller but never PROCESSED once things recover.
// Parley loses a worker (its jobs are released by the heartbeat sweep); the
// memory queue loses its app process (and whatever it had not flushed); the
// poller loses its cron process.
import type { BenchContext } from "../context.js";
import { design as designOf } from "../context.js";
import type { Design } from "../design.js";
import { FLUSH_MS, MemoryQueueDesign } from "../baselines/memory-queue.js";
import { PollingDesign } from "../baselines/polling.js";
import { ParleyDesign } from "../designs/parley.js";
import { openLoop } from "../load.js";
import { makePayloads } from "../payloads.js";

export async function runFault(context: BenchContext): Promise<void> {
  const { plan, results } = context;
  const count = Math.round(plan.faultRate * plan.faultSeconds);
  const set = makePayloads(count, context.seed + 3, "f");
  const parley = designOf<ParleyDesign>(context, "parley");
  const queue = designOf<MemoryQueueDesign>(context, "memory-queue");
  const polling = plan.faultDesigns === "all" ? context.designs.get("polling-1s") as PollingDesign | undefined : undefined;
  results.note(`Fault run: ${plan.faultRate}/s for ${plan.faultSeconds} s, SIGKILL half-way; Parley's workers and the poller ran with a ${plan.faultStaleAfterSeconds} s staleness limit (default 30 s) so recovery fits in the run.${polling ? "" : " --quick leaves the poller out."}`);

  const runs: Array<{ design: Design; kill: () => Promise<number>; restart?: () => Promise<void> }> = [
    {
      design: parley,
      kill: () => parley.killWorker(0),
      restart: async () => {
        await parley.stopProcessing();
        parley.staleAfterSeconds = plan.faultStaleAfterSeconds;
        await parley.startProcessing({ embedder: "hashing", workers: plan.workers, concurrency: plan.concurrency });
      },
    },
    { design: queue, kill: () => queue.killAndRestart() },
    ...(polling ? [{
      design: polling,
      kill: () => polling.killAndRestart(),
      restart: async () => {
        await polling.stopProcessing();
        polling.staleAfterSeconds = plan.faultStaleAfterSeconds;
        await polling.startProcessing({ embedder: "hashing", workers: plan.workers, concurrency: plan.concurrency });
      },
    }] : []),
  ];

  for (const run of runs) {
    const { design } = run;
    context.progress(`fault: ${design.id}, ${plan.faultRate}/s for ${plan.faultSeconds} s, SIGKILL half-way`);
    await run.restart?.();
    let killed: Promise<number> | undefined;
    let killedAt = 0;
    const half = Math.floor(count / 2);
    const load = await openLoop({
      rate: plan.faultRate, seconds: plan.faultSeconds, maxInFlight: 64, graceSeconds: 5,
      onTick: (i) => {
        if (i === half) {
          killedAt = performance.now();
          killed = run.kill();
        }
      },
    }, (i) => design.write(set.payloads[i]!, set.json[i]!));
    await killed;
    const acknowledged = load.succeeded.map((i) => set.payloads[i]!.conversation_id);
    // One flush interval for the memory queue to write what it still holds;
    // then wait while processing makes progress, until every acknowledged
    // conversation that reached the database is PROCESSED. Twenty seconds
    // without progress (four staleness limits) means what is left is stuck.
    await new Promise((resolve) => setTimeout(resolve, FLUSH_MS + 500));
    let state = await acknowledgedState(design, acknowledged);
    let progressAt = performance.now();
    while (state.processed < state.stored && performance.now() - progressAt < 20_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const next = await acknowledgedState(design, acknowledged);
      if (next.processed > state.processed) progressAt = performance.now();
      state = next;
    }
    const settledAfter = (performance.now() - killedAt) / 1000;
    const gone = acknowledged.length - state.stored;
    const stuck = state.stored - state.processed;
    const lost = gone + stuck;
    results.value("fault", "acknowledged", "conv", "higher", design.id, acknowledged.length);
    results.value("fault", "refused while down (caller saw an error)", "conv", "lower", design.id, load.errors);
    results.value("fault", "lost (acknowledged, never PROCESSED)", "conv", "lower", design.id, lost,
      lost === 0 ? undefined : [gone > 0 ? `${gone} never reached the database` : "", stuck > 0 ? `${stuck} stored but stuck unprocessed` : ""].filter(Boolean).join(", "));
    results.value("fault", "all acknowledged PROCESSED after the kill", "s", "lower", design.id, lost === 0 ? settledAfter : null,
      lost === 0 ? undefined : "never: some were lost");
    if (design.id === "parley") results.target("lost_conversations", lost);
  }
  // Back to the default staleness for the rest of the run.
  parley.staleAfterSeconds = undefined;
  if (polling) polling.staleAfterSeconds = 30;
  results.value("fault", "acknowledged", "conv", "higher", "synchronous", null, "acknowledges only after processing: nothing to lose");
}

async function acknowledgedState(design: Design, acknowledged: readonly string[]): Promise<{ stored: number; processed: number }> {
  const { rows: [state] } = await design.pool.query<{ stored: number; processed: number }>(
    `select count(e.event_id)::int as stored, count(*) filter (where e.status = 'PROCESSED')::int as processed
     from unnest($1::text[]) as acked(conversation_id)
     left join parley.conversation_events e using (conversation_id)`, [acknowledged]);
  return state!;
}
