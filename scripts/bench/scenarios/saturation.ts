// Scenario 4: saturation. Three separate measures, because on 2 cores the
// write path and the workers compete for the same CPU and a combined figure
// would hide which one limits:
//   ingest:     closed-loop callers on the write path alone (processing off,
//               except where the design cannot separate them);
//   processing: a backlog drained by the design's processing, hashing and local
//               (rate from the database's own timestamps: first claim to last
//               PROCESSED, so process start-up is not counted);
//   bulk:       parley.end_conversations against the raw floor's multi-row
//               INSERT of the same rows, batches alternating between the two.
import type pg from "pg";
import type { BenchContext } from "../context.js";
import { design as designOf } from "../context.js";
import { DESIGN_IDS, waitProcessed, type Design } from "../design.js";
import { createDesign } from "../designs/index.js";
import { drainTime, preloadBatches, warmUp } from "./common.js";
import { residentMemory } from "../children.js";
import type { ParleyDesign } from "../designs/parley.js";
import type { RawFloorDesign } from "../baselines/raw-floor.js";
import { insertConversations } from "../baselines/plain-sql.js";
import { closedLoop } from "../load.js";
import { makePayloads, rowsPerConversation, type PayloadSet } from "../payloads.js";

export async function runSaturation(context: BenchContext): Promise<void> {
  await ingest(context);
  await drainHashing(context);
  await drainLocal(context);
  await bulk(context);
}

/** On fresh databases, so the ingested conversations never reach the other measures' workers. */
async function ingest(context: BenchContext): Promise<void> {
  const { plan, results } = context;
  const limit = Math.ceil(plan.ingestSeconds * 4000);
  const rates = new Map<string, number>();
  const set = makePayloads(limit, context.seed + 4, "i");
  // The polling designs write exactly like the raw floor (one plain statement).
  for (const id of DESIGN_IDS.filter((candidate) => !candidate.startsWith("polling"))) {
    const url = await context.databases.clone(`ingest_${id}`);
    const design = createDesign(id, url);
    try {
      // The memory queue's app process is its write path; the others write without processing.
      if (id === "memory-queue") await design.startProcessing({ embedder: "hashing", workers: 1, concurrency: plan.concurrency });
      context.progress(`4. saturation, ingest: ${id}, ${plan.ingestConcurrency} callers for ${plan.ingestSeconds} s`);
      await warmUp(design, `i_${id.replace(/-/g, "_")}`, 5, id === "memory-queue");
      const load = await closedLoop(plan.ingestConcurrency, plan.ingestSeconds, limit, (i) => design.write(set.payloads[i]!, set.json[i]!));
      if (load.errors > 0) throw new Error(`${id}: ${load.errors} writes failed: ${load.firstError}`);
      rates.set(id, load.succeeded.length / load.seconds);
      results.value("saturation", "ingest, one call per conversation", "conv/s", "higher", id, load.succeeded.length / load.seconds,
        id === "synchronous" ? "includes processing each one (inline)"
          : id === "memory-queue" ? "acknowledgements; the app flushes and processes meanwhile"
            : id === "parley" ? "workers off: the write path alone" : undefined);
    } finally {
      // What was ingested here is never processed: the database is dropped.
      await design.close({ abandon: true });
      await context.databases.drop(url);
    }
  }
  const parley = rates.get("parley");
  const raw = rates.get("raw-floor");
  results.target("ingest_share_of_raw", parley !== undefined && raw ? (parley / raw) * 100 : null);
}

async function preload(design: Design, set: PayloadSet): Promise<void> {
  for (const batch of preloadBatches(set)) {
    if (design.id === "parley") await design.writeMany!(batch.payloads, batch.json);
    else await insertConversations(design.pool, batch.payloads);
  }
}

async function drainHashing(context: BenchContext): Promise<void> {
  const { plan, results } = context;
  const perRound = Math.ceil(plan.drainHashing / plan.drainRounds);
  const processing = { embedder: "hashing" as const, workers: plan.saturationWorkers, concurrency: plan.saturationConcurrency };
  const designs = (["parley", "polling-1s", "memory-queue"] as const)
    .map((id) => context.designs.get(id))
    .filter((design): design is Design => design !== undefined);
  const totals = new Map(designs.map((design) => [design.id, { count: 0, seconds: 0, peakMiB: 0, timedOut: false }]));

  for (let round = 0; round < plan.drainRounds; round++) {
    const set = makePayloads(perRound, context.seed + 5 + round, `d${round}`);
    const prefix = `d${round}_`;
    for (const design of designs) {
      const total = totals.get(design.id)!;
      if (design.id === "memory-queue") {
        // It cannot hold a backlog outside its process: it gets the same
        // conversations as fast as it acknowledges them.
        context.progress(`4. saturation, processing (round ${round + 1}/${plan.drainRounds}): memory-queue takes ${perRound} as fast as it acknowledges them`);
        await closedLoop(64, 600, perRound, (i) => design.write(set.payloads[i]!, set.json[i]!));
        total.timedOut ||= (await waitProcessed(design.pool, prefix, perRound, 60_000 + perRound * 50, 200)).timedOut;
        const time = await drainTime(design.pool, prefix, "created");
        total.count += time.count;
        total.seconds += time.seconds;
        continue;
      }
      await design.stopProcessing();
      context.progress(`4. saturation, processing (round ${round + 1}/${plan.drainRounds}): ${design.id} drains a backlog of ${perRound} (hashing, ${plan.saturationWorkers} x ${plan.saturationConcurrency})`);
      await preload(design, set);
      await design.startProcessing(processing);
      total.timedOut ||= (await waitProcessed(design.pool, prefix, perRound, 60_000 + perRound * 50, 200)).timedOut;
      const memory = await Promise.all(design.backgroundPids().map((pid) => residentMemory(pid)));
      total.peakMiB = Math.max(total.peakMiB, ...memory.map((entry) => entry?.peakMiB ?? 0));
      const time = await drainTime(design.pool, prefix, "claim");
      total.count += time.count;
      total.seconds += time.seconds;
      await design.stopProcessing();
    }
  }

  for (const design of designs) {
    const total = totals.get(design.id)!;
    const rate = total.timedOut || total.seconds === 0 ? null : total.count / total.seconds;
    results.value("saturation", "processing a backlog, hashing", "conv/s", "higher", design.id, rate,
      design.id === "parley" ? `${plan.saturationWorkers} worker processes x ${plan.saturationConcurrency} jobs`
        : design.id === "polling-1s" ? `one poller, ${plan.saturationWorkers * plan.saturationConcurrency} at once`
          : `in the app process, ${plan.concurrency} at once`);
    if (design.id !== "memory-queue") {
      results.value("saturation", "worker peak memory (RSS), hashing", "MiB", "lower", design.id, total.peakMiB || null);
    }
    if (design.id === "parley") results.target("saturation_hashing_per_s", rate);
  }
  if (plan.drainRounds > 1) {
    results.note(`Processing rates: ${plan.drainHashing} conversations per design in ${plan.drainRounds} rounds, the designs taking turns, timed from the database's own timestamps (first claim to last PROCESSED).`);
  }
  results.value("saturation", "processing a backlog, hashing", "conv/s", "higher", "synchronous", null, "see ingest: each caller processes its own");
}

async function drainLocal(context: BenchContext): Promise<void> {
  const { plan, results } = context;
  const parley = designOf<ParleyDesign>(context, "parley");
  const count = plan.drainLocal;
  const set = makePayloads(count, context.seed + 6, "l");
  // The model is CPU-bound: more jobs at once than cores only adds waiting.
  const processing = { embedder: "local" as const, workers: plan.localWorkers, concurrency: 1 };
  context.progress(`4. saturation, processing: parley drains ${count} with the local model (${plan.localWorkers} x 1)`);
  await parley.stopProcessing();
  await preload(parley, set);
  await parley.startProcessing(processing);
  const wait = await waitProcessed(parley.pool, "l_", count, 120_000 + count * 2000, 250);
  const memory = await Promise.all(parley.backgroundPids().map((pid) => residentMemory(pid)));
  const time = await drainTime(parley.pool, "l_", "claim");
  const rate = wait.timedOut || time.seconds === 0 ? null : time.count / time.seconds;
  results.value("saturation", "processing a backlog, local model", "conv/s", "higher", "parley", rate,
    `${plan.localWorkers} worker process(es) x 1 job; includes loading the model`);
  results.value("saturation", "worker peak memory (RSS), local model", "MiB", "lower", "parley",
    Math.max(0, ...memory.map((entry) => entry?.peakMiB ?? 0)) || null);
  await parley.stopProcessing();
  results.note("With the local model every design runs the same model on the same CPU; only Parley was measured with it, the baselines would wait on the model alike.");
}

async function bulk(context: BenchContext): Promise<void> {
  const { plan, results } = context;
  const parley = designOf<ParleyDesign>(context, "parley");
  const raw = designOf<RawFloorDesign>(context, "raw-floor");
  const size = plan.bulkBatchSize;
  const set = makePayloads(plan.bulkBatches * size, context.seed + 7, "b");
  const rowsPerBatch = set.payloads.slice(0, size).reduce((sum, payload) => sum + rowsPerConversation(payload), 0);
  context.progress(`4. saturation, bulk: ${plan.bulkBatches} batches of ${size} conversations, Parley and raw floor alternating`);
  // One warm-up batch each (plans, connections) outside the timing.
  const warm = makePayloads(size, context.seed + 8, "bw");
  await parley.writeMany(warm.payloads, warm.json);
  await raw.writeMany(warm.payloads);

  const seconds = { parley: 0, raw: 0 };
  for (let batch = 0; batch < plan.bulkBatches; batch++) {
    const payloads = set.payloads.slice(batch * size, (batch + 1) * size);
    const json = set.json.slice(batch * size, (batch + 1) * size);
    const order = batch % 2 === 0 ? (["parley", "raw"] as const) : (["raw", "parley"] as const);
    for (const which of order) {
      const started = performance.now();
      if (which === "parley") await parley.writeMany(payloads, json);
      else await raw.writeMany(payloads);
      seconds[which] += (performance.now() - started) / 1000;
    }
  }
  const parleyRows = (rowsPerBatch * plan.bulkBatches) / seconds.parley;
  const rawRows = (rowsPerBatch * plan.bulkBatches) / seconds.raw;
  results.value("saturation", `bulk, ${size} conversations per call`, "rows/s", "higher", "parley", parleyRows, "parley.end_conversations: validated, queued");
  results.value("saturation", `bulk, ${size} conversations per call`, "rows/s", "higher", "raw-floor", rawRows, "plain multi-row INSERT (unnest), nothing else");
  results.target("bulk_share_of_raw", (parleyRows / rawRows) * 100);
  const { rows: [jobs] } = await parley.pool.query<{ count: number }>(
    "select count(*)::int as count from graphile_worker.jobs where task_identifier = 'process_conversation'");
  if ((jobs?.count ?? 0) < plan.bulkBatches * size) {
    throw new Error(`bulk: expected at least ${plan.bulkBatches * size} queued jobs, found ${jobs?.count ?? 0}`);
  }
}
