// Scenario 7: the worker's throughput, each figure next to a baseline measured
// in the same run on the same machine:
//   queue:  graphile-worker alone draining no-op jobs, against Parley draining
//           a backlog with the hashing embedder, with 1 and with 2 processes;
//   remote: Parley with an OpenAI-compatible stub that answers in 100 ms, 1
//           and 2 processes, and the embedding requests it made per
//           conversation (a second process adds throughput where the CPU
//           allows it: here the waiting is on the provider);
//   local:  the default model's texts/s through the worker against the model
//           embedding the same texts on its own;
//   write:  end_conversation against the same rows written by plain INSERTs
//           plus graphile_worker.add_job, interleaved on one connection.
// Each drain runs on a fresh database; rates come from the database's own
// timestamps (first claim to last PROCESSED), so process start-up is not counted.
import path from "node:path";
import pg from "pg";
import type { BenchContext } from "../context.js";
import { ROOT, startChild, stopChild, type Child } from "../children.js";
import { waitProcessed } from "../design.js";
import { drainTime, preloadBatches } from "./common.js";
import { makePayloads, type PayloadSet } from "../payloads.js";
import { insertConversations } from "../baselines/plain-sql.js";
import { closedLoop } from "../load.js";
import { benchPool } from "../database.js";
import { summarize } from "../stats.js";
import { LocalEmbedder } from "../../../src/embed/local.js";

/** Job slots per worker process, as `npm run worker` runs by default; the same for graphile-worker alone. */
const CONCURRENCY = 4;

export async function runWorker(context: BenchContext): Promise<void> {
  await queue(context);
  await remote(context);
  await local(context);
  await writePath(context);
}

async function queue(context: BenchContext): Promise<void> {
  const { plan, results } = context;
  const count = plan.workerDrain;
  context.progress(`7. worker: graphile-worker alone drains ${count} no-op jobs (${CONCURRENCY} at once)`);
  const noop = await drainNoop(context, count);
  const rates: number[] = [];
  for (const processes of [1, 2]) {
    context.progress(`7. worker: Parley drains ${count} conversations with hashing, ${processes} process(es)`);
    const drained = await drainParley(context, `w_hash${processes}`, count, processes, { PARLEY_EMBEDDER: "hashing" });
    rates.push(drained.rate ?? 0);
    results.comparison({
      scenario: "worker", metric: `processing a backlog, hashing, ${processes} process${processes > 1 ? "es" : ""}`, unit: "conv/s",
      better: "higher", parley: drained.rate, baseline: "graphile-worker alone, no-op jobs", baselineValue: noop,
    });
  }
  const best = Math.max(...rates);
  results.target("saturation_hashing_per_s", best || null);
  results.target("noop_share", noop && best ? best / noop : null);
}

async function remote(context: BenchContext): Promise<void> {
  const { plan, results } = context;
  const count = plan.remoteDrain;
  const stub = startChild(path.join(ROOT, "scripts/bench/baselines/embedding-stub.ts"), { STUB_DELAY_MS: "100", STUB_DIMENSION: "384" });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      stub.process.once("message", (message: { listening?: number }) => resolve(message.listening ?? 0));
      stub.exited.then(() => reject(new Error(`the embedding stub exited: ${stub.stderr()}`)));
    });
    const url = `http://127.0.0.1:${port}`;
    const env = {
      PARLEY_EMBEDDER: "openai", PARLEY_OPENAI_BASE_URL: url, PARLEY_OPENAI_MODEL: "stub-embed-384", PARLEY_EMBED_DIMENSION: "384",
    };
    const rates: Array<number | null> = [];
    for (const processes of [1, 2]) {
      context.progress(`7. worker: Parley drains ${count} conversations with a remote embedder answering in 100 ms, ${processes} process(es)`);
      const before = await stubStats(url);
      const drained = await drainParley(context, `w_remote${processes}`, count, processes, env);
      const after = await stubStats(url);
      rates.push(drained.rate);
      const requests = after.requests - before.requests;
      results.comparison({
        scenario: "worker", metric: `remote embedder (100 ms), ${processes} process${processes > 1 ? "es" : ""}`, unit: "conv/s",
        better: "higher", parley: drained.rate,
        baseline: processes === 1 ? "hashing, 1 process (no waiting)" : "the same, 1 process",
        baselineValue: processes === 1 ? null : rates[0] ?? null,
        note: `${requests} requests for ${count} conversations (${(requests / count).toFixed(3)} per conversation), ${after.texts - before.texts} texts`,
      });
      if (processes === 2) {
        results.target("remote_per_s", drained.rate);
        results.target("remote_requests_per_conversation", requests / count);
      }
    }
  } finally {
    await stopChild(stub);
  }
}

async function local(context: BenchContext): Promise<void> {
  const { plan, results } = context;
  const count = plan.localDrain;
  const set = makePayloads(count, context.seed + 71, "w_local");
  const texts = set.payloads.flatMap((payload) => payload.conversation_log.map((message) => message.content));
  context.progress(`7. worker: the local model alone embeds ${texts.length} texts`);
  const model = new LocalEmbedder();
  await model.embed(["warm up the model"]);
  const started = performance.now();
  // As the worker hands them over: one call per batch of conversations.
  await model.embed(texts);
  const alone = texts.length / ((performance.now() - started) / 1000);


  context.progress(`7. worker: Parley drains ${count} conversations (${texts.length} texts) with the local model, 1 process`);
  const drained = await drainParley(context, "w_local", count, 1, { PARLEY_EMBEDDER: "local" }, set);
  const throughWorker = drained.rate === null ? null : drained.rate * (texts.length / count);
  results.comparison({
    scenario: "worker", metric: "local model, texts/s", unit: "texts/s", better: "higher", parley: throughWorker,
    baseline: "the model alone, same texts, same process count (1)", baselineValue: alone,
  });
  results.target("local_share_of_model", throughWorker === null ? null : (throughWorker / alone) * 100);
}

async function writePath(context: BenchContext): Promise<void> {
  const { plan, results } = context;
  const count = plan.writeFloorCalls;
  const set = makePayloads(count, context.seed + 72, "w_write");
  const floorSet = makePayloads(count, context.seed + 72, "w_floor");
  const url = await context.databases.clone("w_write");
  const client = new pg.Client({ connectionString: url, application_name: "parley-bench-write" });
  await client.connect();
  try {
    context.progress(`7. worker: ${count} end_conversation calls interleaved with the same rows by plain INSERTs + add_job`);
    // Warm both paths' plans and caches outside the timing.
    const warm = makePayloads(20, context.seed + 73, "w_warm");
    for (const [i, json] of warm.json.entries()) {
      await client.query({ name: "end_conversation", text: "select parley.end_conversation($1::jsonb)", values: [json] });
      await insertConversations(client, [warm.payloads[i]!].map((payload) => ({ ...payload, conversation_id: `${payload.conversation_id}_f` })), undefined, { withJobs: true });
    }
    const parley: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < count; i++) {
      const order = i % 2 === 0 ? ["parley", "floor"] : ["floor", "parley"];
      for (const which of order) {
        const started = performance.now();
        if (which === "parley") await client.query({ name: "end_conversation", text: "select parley.end_conversation($1::jsonb)", values: [set.json[i]!] });
        else await insertConversations(client, [floorSet.payloads[i]!], undefined, { withJobs: true });
        (which === "parley" ? parley : floor).push(performance.now() - started);
      }
    }
    const mine = summarize(parley)!;
    const theirs = summarize(floor)!;
    for (const key of ["p50", "p99"] as const) {
      results.comparison({
        scenario: "worker", metric: `end_conversation, 20 messages, ${key}`, unit: "ms", better: "lower",
        parley: mine[key], baseline: "plain INSERTs of the same rows + graphile_worker.add_job, one statement", baselineValue: theirs[key],
      });
    }
    results.target("write_p50_over_floor", mine.p50 / theirs.p50);

    // Over 8 connections at once: the raw floor (scenario 4) does not NOTIFY;
    // graphile-worker's add_job does, and a notifying transaction holds a
    // database-wide lock until its commit is flushed, so such commits go one
    // at a time. This floor pays that as Parley does.
    const pool = benchPool(url, plan.ingestConcurrency, "parley-bench-ingest");
    try {
      const limit = Math.ceil(plan.ingestSeconds * 4000);
      const parleySet = makePayloads(limit, context.seed + 74, "w_ingest");
      const floorIngest = makePayloads(limit, context.seed + 74, "w_ingest_floor");
      context.progress(`7. worker: ingest over ${plan.ingestConcurrency} connections, Parley then plain INSERTs + add_job, ${plan.ingestSeconds} s each`);
      const parleyLoad = await closedLoop(plan.ingestConcurrency, plan.ingestSeconds, limit, async (i) => {
        await pool.query({ name: "end_conversation", text: "select parley.end_conversation($1::jsonb)", values: [parleySet.json[i]!] });
      });
      const floorLoad = await closedLoop(plan.ingestConcurrency, plan.ingestSeconds, limit, async (i) => {
        await insertConversations(pool, [floorIngest.payloads[i]!], undefined, { withJobs: true });
      });
      results.comparison({
        scenario: "worker", metric: `ingest over ${plan.ingestConcurrency} connections`, unit: "conv/s", better: "higher",
        parley: parleyLoad.succeeded.length / parleyLoad.seconds,
        baseline: "plain INSERTs of the same rows + graphile_worker.add_job (which notifies), one statement",
        baselineValue: floorLoad.succeeded.length / floorLoad.seconds,
        note: "the raw floor of scenario 4 does not notify; see README, Benchmarks",
      });
    } finally {
      await pool.end();
    }
  } finally {
    await client.end();
    await context.databases.drop(url);
  }
}

/** graphile-worker alone: jobs added while its pool listens; jobs/s until the queue is empty. */
async function drainNoop(context: BenchContext, count: number): Promise<number | null> {
  const url = await context.databases.clone("w_noop");
  const pool = benchPool(url, 2, "parley-bench-noop");
  const worker = startChild(path.join(ROOT, "scripts/bench/baselines/noop-worker.ts"), { DATABASE_URL: url, NOOP_CONCURRENCY: String(CONCURRENCY) });
  try {
    await new Promise<void>((resolve, reject) => {
      worker.process.once("message", () => resolve());
      worker.exited.then(() => reject(new Error(`graphile-worker alone exited: ${worker.stderr()}`)));
    });
    // The first add_job of a task creates its row: do it once outside the timing.
    await pool.query("select graphile_worker.add_job('bench_noop')");
    await waitEmpty(pool, 30_000);
    const started = performance.now();
    await pool.query(`select from graphile_worker.add_jobs(array(
      select row('bench_noop', '{}'::json, null, null, 25, null, null, null)::graphile_worker.job_spec from generate_series(1, $1)))`, [count]);
    const emptied = await waitEmpty(pool, 120_000 + count * 10);
    return emptied ? count / ((performance.now() - started) / 1000) : null;
  } finally {
    await stopChild(worker);
    await pool.end();
    await context.databases.drop(url);
  }
}

/** Whether graphile-worker's queue emptied within the time. */
async function waitEmpty(pool: pg.Pool, timeoutMs: number): Promise<boolean> {
  const started = performance.now();
  for (;;) {
    const { rows } = await pool.query<{ n: number }>("select count(*)::int as n from graphile_worker._private_jobs");
    if (rows[0]!.n === 0) return true;
    if (performance.now() - started > timeoutMs) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Parley's `npm run worker` processes draining a backlog loaded while they were off. */
async function drainParley(
  context: BenchContext,
  prefix: string,
  count: number,
  processes: number,
  env: Record<string, string>,
  payloads: PayloadSet = makePayloads(count, context.seed + 70, prefix),
): Promise<{ rate: number | null }> {
  const url = await context.databases.clone(prefix);
  const pool = benchPool(url, 2, "parley-bench-noop");
  const workers: Child[] = [];
  try {
    for (const batch of preloadBatches(payloads)) {
      await pool.query("select parley.end_conversations($1::jsonb)", [`[${batch.json.join(",")}]`]);
    }
    await pool.query("vacuum analyze");
    for (let i = 0; i < processes; i++) {
      workers.push(startChild(path.join(ROOT, "src/worker/main.ts"), {
        DATABASE_URL: url, PARLEY_CONCURRENCY: String(CONCURRENCY), LOG_LEVEL: "warn", PARLEY_METRICS_PORT: "0", ...env,
      }));
    }
    const wait = await waitProcessed(pool, `${prefix}_`, count, 120_000 + count * 100, 100);
    const time = await drainTime(pool, `${prefix}_`, "claim");
    if (wait.timedOut || time.seconds === 0) return { rate: null };
    return { rate: time.count / time.seconds };
  } finally {
    await Promise.all(workers.map((worker) => stopChild(worker)));
    await pool.end();
    await context.databases.drop(url);
  }
}

async function stubStats(url: string): Promise<{ requests: number; texts: number }> {
  const response = await fetch(`${url}/stats`);
  return response.json() as Promise<{ requests: number; texts: number }>;
}
