// `npm run bench:webhooks [-- --quick]`: what webhooks cost and how fast they go.
//
// 1. The queueing trigger (conversation_events_queue_webhooks) on the
//    worker's own write path: parley.claim_events taking a batch of events
//    (PENDING to PROCESSING) and parley.complete_events finishing them
//    (PROCESSING to PROCESSED, one UPDATE for the batch), each one committed
//    transaction, with the trigger disabled (the baseline), enabled with no
//    webhook, and enabled with 1 and 3 webhooks. The settings take turns,
//    round after round, on fresh events.
// 2. PROCESSED to the first attempt: a real worker processes conversations
//    at a steady pace and delivers to a local receiver; per event, from
//    processed_at to the attempt's start and to the receiver's arrival.
//
// Uses DATABASE_URL's server (databases of its own, dropped at the end) or an
// embedded PostgreSQL. Prints a Markdown report on stdout.
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import { pino } from "pino";
import type pg from "pg";
import { loadConfig, parseConfig } from "../../src/config.js";
import { createPool } from "../../src/db/pool.js";
import { startWorker } from "../../src/worker/runner.js";
import { sampleConversations } from "../lib/sample-conversations.js";
import { BenchDatabases, openServer } from "./database.js";
import { summarize, type Summary } from "./stats.js";

const quick = process.argv.includes("--quick");
const plan = quick
  ? { rounds: 8, batchSize: 100, conversations: 60, ratePerSecond: 20 }
  : { rounds: 40, batchSize: 100, conversations: 300, ratePerSecond: 20 };

type Setting = "trigger disabled" | "no webhook" | "1 webhook" | "3 webhooks";
const SETTINGS: Setting[] = ["trigger disabled", "no webhook", "1 webhook", "3 webhooks"];
/** The claims' owner in section 1: no worker runs there, the bench calls the worker's functions itself. */
const BENCH_WORKER = "bench-webhooks-worker";

const progress = (message: string) => process.stderr.write(`[bench:webhooks] ${message}\n`);
const config = loadConfig();
const server = await openServer(config.databaseUrl);
const databases = new BenchDatabases(server, `wh_${process.pid}`);
const lines: string[] = [];
const out = (line = "") => lines.push(line);

try {
  await databases.prepareTemplate();
  out(`# Webhooks benchmark (${quick ? "quick" : "full"} run, ${new Date().toISOString()})`);
  out();
  out(`Machine: ${os.cpus().length} CPU, load average at start ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}; Node ${process.version}; PostgreSQL ${server.version} (${server.kind}).`);
  out();
  await triggerCost(await databases.clone("trigger"));
  await firstAttemptLatency(await databases.clone("latency"));
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  await databases.dropAll();
  await server.stop();
}

async function triggerCost(url: string): Promise<void> {
  // One connection: the warm-up's plans are that session's.
  const pool = createPool(url, 1, "parley-bench-webhooks");
  try {
    const total = plan.rounds * plan.batchSize * SETTINGS.length;
    progress(`seeding ${total} PENDING events`);
    await seedEvents(pool, total);

    const claim: Record<Setting, number[]> = Object.fromEntries(SETTINGS.map((s) => [s, []])) as never;
    const complete: Record<Setting, number[]> = Object.fromEntries(SETTINGS.map((s) => [s, []])) as never;
    for (let round = 0; round < plan.rounds; round++) {
      // Rotate the order so that no setting always runs first in a round.
      const order = SETTINGS.map((_, i) => SETTINGS[(i + round) % SETTINGS.length]!);
      for (const setting of order) {
        await configure(pool, setting);
        // configure's ALTER TABLE invalidates the session's cached plans of the
        // functions and the trigger: re-plan them in a rolled-back batch of one.
        await warmUp(pool);
        let claimed: Awaited<ReturnType<typeof claimBatch>> = [];
        claim[setting].push(await timed(pool, async (client) => {
          claimed = await claimBatch(client, plan.batchSize);
        }));
        if (claimed.length !== plan.batchSize) throw new Error(`claimed ${claimed.length} events, expected ${plan.batchSize}`);
        complete[setting].push(await timed(pool, (client) => completeBatch(client, claimed)));
        await pool.query("delete from parley.webhook_messages");
        await pool.query("delete from graphile_worker._private_jobs j using graphile_worker._private_tasks t where t.id = j.task_id and t.identifier = 'deliver_webhook'");
      }
      if (round % 10 === 9) await pool.query("vacuum analyze parley.conversation_events, parley.webhook_messages, parley.webhook_deliveries");
    }

    out(`## 1. The queueing trigger on the worker's batch path`);
    out();
    out(`Each sample is one committed transaction of the worker's own functions: parley.claim_events taking ${plan.batchSize} events (PENDING to PROCESSING), or parley.complete_events finishing them (PROCESSING to PROCESSED in one UPDATE, with the users' state, candidates and vectors). ${plan.rounds} rounds, the settings taking turns on fresh events; the change log's statement triggers (migrations/0004) run in every setting.`);
    out();
    out(`| setting | complete_events (${plan.batchSize}) p50 | p95 | vs disabled (p50) | per finished event, over disabled | claim_events (${plan.batchSize}) p50 | p95 | vs disabled (p50) |`);
    out(`|---|---:|---:|---:|---:|---:|---:|---:|`);
    const baseComplete = summarize(complete["trigger disabled"])!;
    const baseClaim = summarize(claim["trigger disabled"])!;
    for (const setting of SETTINGS) {
      const c = summarize(complete[setting])!;
      const k = summarize(claim[setting])!;
      const perEvent = ((c.p50 - baseComplete.p50) / plan.batchSize) * 1000;
      out(`| ${setting} | ${ms(c.p50)} | ${ms(c.p95)} | ${ratio(c, baseComplete)} | ${setting === "trigger disabled" ? "–" : `${Math.round(perEvent)} µs`} | ${ms(k.p50)} | ${ms(k.p95)} | ${ratio(k, baseClaim)} |`);
    }
    out();
  } finally {
    await pool.end();
  }
}

/** What the worker would send parley.complete_events for these claimed events, one user each (as seeded). */
function completionResults(claimed: ReadonlyArray<{ event_id: string; profile_id: string; attempt_count: number }>): string {
  const embedding = `{${Array.from({ length: 16 }, (_, i) => ((i % 7) / 7).toFixed(3)).join(",")}}`;
  return JSON.stringify({
    events: [...claimed].sort((a, b) => Number(a.event_id) - Number(b.event_id)).map((event) => ({
      event_id: event.event_id, profile_id: event.profile_id, attempt: event.attempt_count,
      friendship_score_change: 2.5, new_friendship_level: "PHASE1_STRANGER", total_turns: 4, user_initiated_questions: 1,
      topic_metrics: { movies: 0.8 }, session_emotion: { valence: 0.4 }, model: "bench-16", embedding, cache: [],
    })),
    users: claimed.map((event) => ({
      profile_id: event.profile_id, expected_count: 0, friendship_score: 2.5, friendship_level: "PHASE1_STRANGER",
      topic_metrics: { movies: 0.8 }, last_event_id: event.event_id,
      candidates: { greeting_agent: null, talk_candidates: [], game_candidates: [] },
    })),
  });
}

async function claimBatch(client: pg.PoolClient, size: number) {
  const { rows } = await client.query<{ event_id: string; profile_id: string; attempt_count: number; outcome: string }>(
    "select event_id::text, profile_id, attempt_count, outcome from parley.claim_events($1, $2, interval '5 minutes')", [BENCH_WORKER, size]);
  return rows.filter((row) => row.outcome === "claimed");
}

async function completeBatch(client: pg.PoolClient, claimed: Parameters<typeof completionResults>[0]): Promise<void> {
  const { rows } = await client.query<{ outcome: string }>("select outcome from parley.complete_events($1, $2)", [BENCH_WORKER, completionResults(claimed)]);
  if (rows.some((row) => row.outcome !== "processed")) throw new Error(`complete_events: ${rows.map((row) => row.outcome).join(",")}`);
}

async function warmUp(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    await completeBatch(client, await claimBatch(client, 1));
  } finally {
    await client.query("rollback");
    client.release();
  }
}

async function configure(pool: pg.Pool, setting: Setting): Promise<void> {
  await pool.query(`alter table parley.conversation_events ${setting === "trigger disabled" ? "disable" : "enable"} trigger conversation_events_queue_webhooks`);
  await pool.query("delete from parley.webhooks");
  const count = setting === "1 webhook" ? 1 : setting === "3 webhooks" ? 3 : 0;
  for (let i = 0; i < count; i++) await pool.query("select parley.add_webhook($1, $2)", [`https://hooks${i}.example.invalid/parley`, "bench-secret-0123456789"]);
}

async function timed(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<void>): Promise<number> {
  const client = await pool.connect();
  try {
    const started = performance.now();
    await client.query("begin");
    await work(client);
    await client.query("commit");
    return performance.now() - started;
  } finally {
    client.release();
  }
}

/**
 * PENDING events with their conversations, set-based, one user each (so a
 * claim takes any batch and no user's events wait behind another's), due in
 * event_id order. No jobs: the bench calls the worker's functions itself.
 */
async function seedEvents(pool: pg.Pool, count: number): Promise<void> {
  await pool.query(`
    insert into parley.conversations (conversation_id, profile_id, bot_type, bot_id, started_at, ended_at, is_active)
    select 'bench_conv_' || g, 'bench_user_' || g, 'TALK', 'talk_movie_preference',
           now() - interval '20 minutes', now(), false
    from generate_series(1, $1::integer) as g`, [count]);
  await pool.query(`
    insert into parley.conversation_events (conversation_id, profile_id, next_attempt_at)
    select 'bench_conv_' || g, 'bench_user_' || g, now() - interval '1 hour' + g * interval '1 millisecond'
    from generate_series(1, $1::integer) as g`, [count]);
  await pool.query("vacuum analyze parley.conversations, parley.conversation_events");
}

async function firstAttemptLatency(url: string): Promise<void> {
  const arrivals = new Map<string, number>();
  const receiver = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const eventId = (JSON.parse(Buffer.concat(chunks).toString()) as { event_id: string }).event_id;
      if (!arrivals.has(eventId)) arrivals.set(eventId, Date.now());
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  const pool = createPool(url, 6, "parley-bench-webhooks");
  const workerConfig = parseConfig({
    DATABASE_URL: url, PARLEY_EMBEDDER: "hashing", PARLEY_CONCURRENCY: "4", PARLEY_WEBHOOK_ALLOW_PRIVATE: "true", PARLEY_METRICS_PORT: "0",
  });
  const worker = await startWorker({ config: workerConfig, pool, log: pino({ level: "silent" }) });
  try {
    await worker.listening;
    await pool.query("select parley.add_webhook($1, $2)", [receiverUrl, "bench-secret-0123456789"]);
    progress(`sending ${plan.conversations} conversations at ${plan.ratePerSecond}/s`);
    const conversations = sampleConversations(plan.conversations, 42, { idPrefix: `bench_${process.pid}_` });
    const started = performance.now();
    for (let i = 0; i < plan.conversations; i++) {
      const due = started + (i * 1000) / plan.ratePerSecond;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await pool.query("select parley.end_conversation($1)", [JSON.stringify(conversations[i])]);
    }
    const deadline = Date.now() + 60_000;
    while (arrivals.size < plan.conversations && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));

    const { rows } = await pool.query<{ event_id: string; created: Date; processed: Date; attempt_started: Date | null; status: string }>(`
      select e.event_id::text, e.created_at as created, e.processed_at as processed, d.attempted_at as attempt_started, d.status
      from parley.conversation_events e
      join parley.webhook_messages m on m.event_id = e.event_id
      join parley.webhook_deliveries d on d.delivery_id = m.delivery_id and d.attempt = 1`);
    const toAttempt = rows.flatMap((row) => (row.attempt_started ? [row.attempt_started.getTime() - row.processed.getTime()] : []));
    const toArrival = rows.filter((row) => arrivals.has(row.event_id)).map((row) => arrivals.get(row.event_id)! - row.processed.getTime());
    const processing = rows.map((row) => row.processed.getTime() - row.created.getTime());
    const delivered = rows.filter((row) => row.status === "DELIVERED").length;

    out(`## 2. PROCESSED to the first attempt`);
    out();
    out(`${plan.conversations} conversations at ${plan.ratePerSecond}/s, one worker (hashing embedder, PARLEY_CONCURRENCY=4 and PARLEY_WEBHOOK_CONCURRENCY=4 in their own pools, LISTEN/NOTIFY, the default 2 s poll as fallback), one webhook on a local receiver answering 204; ${delivered} of ${rows.length} deliveries DELIVERED on their first attempt. processed_at is taken inside complete_events (clock_timestamp()), so these include the rest of that transaction and its commit.`);
    out();
    out(`| from | to | p50 | p95 | p99 | max |`);
    out(`|---|---|---:|---:|---:|---:|`);
    row("end_conversation (created_at)", "PROCESSED (baseline: processing itself)", summarize(processing));
    row("PROCESSED", "first attempt starts (worker)", summarize(toAttempt));
    row("PROCESSED", "request arrives (receiver)", summarize(toArrival));
    out();
    out(`Target: first attempt within 2 s of PROCESSED; measured p99 ${ms(summarize(toAttempt)?.p99 ?? NaN)}, max ${ms(summarize(toAttempt)?.max ?? NaN)}.`);
  } finally {
    await worker.stop();
    await pool.end();
    receiver.closeAllConnections();
    receiver.close();
  }
}

function row(from: string, to: string, summary: Summary | null): void {
  if (!summary) return void out(`| ${from} | ${to} | – | – | – | – |`);
  out(`| ${from} | ${to} | ${ms(summary.p50)} | ${ms(summary.p95)} | ${ms(summary.p99)} | ${ms(summary.max)} |`);
}

function ms(value: number): string {
  return value >= 100 ? `${value.toFixed(0)} ms` : `${value.toFixed(2)} ms`;
}

function ratio(summary: Summary, baseline: Summary): string {
  return `${(summary.p50 / baseline.p50).toFixed(2)}x`;
}
