// `npm run bench:webhooks [-- --quick]`: what webhooks cost and how fast they go.
//
// 1. The queueing trigger (conversation_events_queue_webhooks): time of one
//    committed UPDATE that finishes a batch of events (as the worker's batch
//    completion does) and of a one-row claim, with the trigger disabled (the
//    baseline), enabled with no webhook, and enabled with 1 and 3 webhooks.
//    The configurations take turns, round after round, on fresh events.
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
  ? { rounds: 8, batchSize: 100, claims: 50, conversations: 60, ratePerSecond: 20 }
  : { rounds: 40, batchSize: 100, claims: 200, conversations: 300, ratePerSecond: 20 };

type Setting = "trigger disabled" | "no webhook" | "1 webhook" | "3 webhooks";
const SETTINGS: Setting[] = ["trigger disabled", "no webhook", "1 webhook", "3 webhooks"];

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
  const pool = createPool(url, 2, "parley-bench-webhooks");
  try {
    const perSetting = plan.rounds * (plan.batchSize + plan.claims);
    const total = perSetting * SETTINGS.length;
    progress(`seeding ${total} PENDING events`);
    await seedEvents(pool, total);
    const ids = (await pool.query<{ id: string }>("select event_id::text as id from parley.conversation_events order by event_id")).rows.map((row) => row.id);
    let next = 0;
    const take = (count: number) => ids.slice(next, (next += count));

    const batch: Record<Setting, number[]> = Object.fromEntries(SETTINGS.map((s) => [s, []])) as never;
    const claim: Record<Setting, number[]> = Object.fromEntries(SETTINGS.map((s) => [s, []])) as never;
    for (let round = 0; round < plan.rounds; round++) {
      // Rotate the order so that no setting always runs first in a round.
      const order = SETTINGS.map((_, i) => SETTINGS[(i + round) % SETTINGS.length]!);
      for (const setting of order) {
        await configure(pool, setting);
        for (const id of take(plan.claims / plan.rounds)) {
          claim[setting].push(await timed(pool, "update parley.conversation_events set status = 'PROCESSING' where event_id = $1", [id]));
        }
        batch[setting].push(await timed(pool,
          "update parley.conversation_events set status = 'PROCESSED', processed_at = now() where event_id = any($1::bigint[])",
          [take(plan.batchSize)]));
        await pool.query("delete from parley.webhook_messages");
        await pool.query("delete from graphile_worker._private_jobs j using graphile_worker._private_tasks t where t.id = j.task_id and t.identifier = 'deliver_webhook'");
      }
      if (round % 10 === 9) await pool.query("vacuum analyze parley.conversation_events, parley.webhook_messages, parley.webhook_deliveries");
    }

    out(`## 1. The queueing trigger`);
    out();
    out(`Each sample is one committed transaction: an UPDATE finishing ${plan.batchSize} events (PROCESSING/PENDING to PROCESSED), or one claim (PENDING to PROCESSING, one row). ${plan.rounds} rounds, the settings taking turns on fresh events; the change stream's deferred trigger (migrations/0002) runs in every setting.`);
    out();
    out(`| setting | batch of ${plan.batchSize} p50 | p95 | vs disabled (p50) | per finished event, over disabled | one claim p50 | p95 | vs disabled (p50) |`);
    out(`|---|---:|---:|---:|---:|---:|---:|---:|`);
    const baseBatch = summarize(batch["trigger disabled"])!;
    const baseClaim = summarize(claim["trigger disabled"])!;
    for (const setting of SETTINGS) {
      const b = summarize(batch[setting])!;
      const c = summarize(claim[setting])!;
      const perEvent = ((b.p50 - baseBatch.p50) / plan.batchSize) * 1000;
      out(`| ${setting} | ${ms(b.p50)} | ${ms(b.p95)} | ${ratio(b, baseBatch)} | ${setting === "trigger disabled" ? "–" : `${perEvent.toFixed(0)} µs`} | ${ms(c.p50)} | ${ms(c.p95)} | ${ratio(c, baseClaim)} |`);
    }
    out();
  } finally {
    await pool.end();
  }
}

async function configure(pool: pg.Pool, setting: Setting): Promise<void> {
  await pool.query(`alter table parley.conversation_events ${setting === "trigger disabled" ? "disable" : "enable"} trigger conversation_events_queue_webhooks`);
  await pool.query("delete from parley.webhooks");
  const count = setting === "1 webhook" ? 1 : setting === "3 webhooks" ? 3 : 0;
  for (let i = 0; i < count; i++) await pool.query("select parley.add_webhook($1, $2)", [`https://hooks${i}.example.invalid/parley`, "bench-secret-0123456789"]);
}

async function timed(pool: pg.Pool, text: string, values: unknown[]): Promise<number> {
  const client = await pool.connect();
  try {
    const started = performance.now();
    await client.query("begin");
    await client.query(text, values);
    await client.query("commit");
    return performance.now() - started;
  } finally {
    client.release();
  }
}

/** PENDING events with their conversations, set-based (no jobs: nothing processes them here). */
async function seedEvents(pool: pg.Pool, count: number): Promise<void> {
  await pool.query(`
    insert into parley.conversations (conversation_id, profile_id, bot_type, bot_id, started_at, ended_at, is_active)
    select 'bench_conv_' || g, 'bench_user_' || (g % 500), 'TALK', 'talk_movie_preference',
           now() - interval '20 minutes', now(), false
    from generate_series(1, $1::integer) as g`, [count]);
  await pool.query(`
    insert into parley.conversation_events (conversation_id, profile_id, total_turns, friendship_score_change)
    select 'bench_conv_' || g, 'bench_user_' || (g % 500), 4, 2.5 from generate_series(1, $1::integer) as g`, [count]);
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
    out(`${plan.conversations} conversations at ${plan.ratePerSecond}/s, one worker (hashing embedder, 4 jobs, LISTEN/NOTIFY, the default 2 s poll as fallback), one webhook on a local receiver answering 204; ${delivered} of ${rows.length} deliveries DELIVERED on their first attempt. processed_at is the finishing transaction's start, so these include the rest of that transaction and its commit.`);
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
