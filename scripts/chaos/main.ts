// `npm run chaos`: drives thousands of conversations through Parley while
// breaking things, then checks the promises: every conversation whose write
// returned success is PROCESSED (or FAILED where the scenario designs it), no
// event is counted twice, and the processes recovered by themselves.
//
// Everything runs against an embedded PostgreSQL that this script starts on a
// free port and deletes afterwards; DATABASE_URL is ignored, so a shared
// server is never restarted. Options:
//   --conversations N   per scenario (default 1500)
//   --rate N            conversations per second while loading (default 75)
//   --workers N         worker processes (default 3)
//   --only NAME         run the scenarios whose name contains NAME
//   --keep              keep .data/chaos-<pid>/ (the worker logs)
//   --worker-script P   run P instead of src/worker/main.ts (to try a candidate fix)
import { closeSync, mkdirSync, openSync } from "node:fs";
import { rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { migrate } from "../../src/db/migrate.js";
import { createPool } from "../../src/db/pool.js";
import { sampleConversations, type SampleConversation } from "../lib/sample-conversations.js";
import { WorkerFleet } from "./fleet.js";
import { drive } from "./load.js";
import { ChaosPostgres, sleep } from "./postgres.js";
import { passed, renderTable, verdict, worstRecovery, type ScenarioResult } from "./report.js";
import { eventTimes, ledger, outcome } from "./verify.js";

const { values } = parseArgs({
  options: {
    conversations: { type: "string", default: "1500" },
    rate: { type: "string", default: "75" },
    workers: { type: "string", default: "3" },
    only: { type: "string" },
    keep: { type: "boolean", default: false },
    "worker-script": { type: "string", default: "src/worker/main.ts" },
  },
});
const CONVERSATIONS = Number(values.conversations);
const RATE = Number(values.rate);
const WORKERS = Number(values.workers);
const MAX_ATTEMPTS = 5;
const SETTLE_TIMEOUT_MS = 120_000;
// Retries back off 30 s, 5 min, ... by default; the run would take hours.
const RETRY_SCHEDULE = "1s,2s,5s";

const say = (message: string) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

interface FaultContext {
  fleet: WorkerFleet;
  server: ChaosPostgres;
  database: string;
  /** Aborted when the load has been sent. */
  signal: AbortSignal;
  loadSeconds: number;
  /** Each fault's time (ms since the epoch). */
  faults: number[];
  notes: string[];
}

interface Scenario {
  name: string;
  script?: string;
  args?: string[];
  env?: Record<string, string>;
  /** error_codes an event may end FAILED with here, after all its attempts. */
  designed: string[];
  inject(context: FaultContext): Promise<void>;
}

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

const SCENARIOS: Scenario[] = [
  {
    name: "worker SIGKILL",
    // A killed worker's jobs wait stale_after for release: 5 s instead of the default 30 s.
    env: { PARLEY_WORKER_STALE_AFTER: "5" },
    designed: ["attempts_exhausted"],
    async inject({ fleet, signal, faults, notes }) {
      let kills = 0;
      while (!signal.aborted) {
        await pause(1500 + Math.random() * 1500, signal);
        if (signal.aborted) break;
        fleet.kill(Math.floor(Math.random() * WORKERS));
        faults.push(Date.now());
        kills++;
      }
      notes.push(`${kills} workers SIGKILLed and restarted by the supervisor; PARLEY_WORKER_STALE_AFTER=5 (default 30)`);
    },
  },
  {
    name: "PostgreSQL restart",
    designed: [],
    async inject({ server, signal, loadSeconds, faults, notes }) {
      await pause(loadSeconds * 300, signal);
      faults.push(Date.now());
      const fast = await server.restart();
      await pause(loadSeconds * 350, signal);
      faults.push(Date.now());
      const crash = await server.crash();
      notes.push(`fast restart (down ${fast.toFixed(1)} s) and crash restart, SIGQUIT to the postmaster (down ${crash.toFixed(1)} s)`);
    },
  },
  {
    name: "pg_terminate_backend",
    designed: [],
    async inject({ server, database, signal, faults, notes }) {
      const admin = new pg.Client({ connectionString: server.url(database), application_name: "parley-chaos" });
      await admin.connect();
      let rounds = 0;
      let terminated = 0;
      try {
        while (!signal.aborted) {
          await pause(2000, signal);
          if (signal.aborted) break;
          const { rows } = await admin.query<{ n: number }>(`
            select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
            where datname = current_database() and application_name = 'parley-worker'`);
          faults.push(Date.now());
          rounds++;
          terminated += rows[0]!.n;
        }
      } finally {
        await admin.end();
      }
      notes.push(`${rounds} rounds cut ${terminated} worker connections (LISTEN, job and pipeline connections alike)`);
    },
  },
  {
    name: "flaky embedder",
    script: "scripts/chaos/worker.ts",
    args: ["--fail-rate", "0.3333", "--stall-rate", "0.1", "--stall-ms", "3000"],
    env: { PARLEY_EMBED_TIMEOUT_MS: "1000" },
    designed: ["embedding_failed"],
    async inject({ notes }) {
      notes.push("1/3 of embedder calls fail, 1 in 10 of the rest stall 3 s past a 1 s timeout; an attempt fails when its batch's call and then the event's own call both go wrong (about 0.4 x 0.4 per attempt, 0.4 for a batch of one), so FAILED after 5 attempts is rarer than the 1% (0.4^5) of one call per attempt");
    },
  },
];

/** Conversations with one message that no other has, so every attempt reaches the embedder past its cache. */
function conversationsFor(index: number): SampleConversation[] {
  return sampleConversations(CONVERSATIONS, 1000 + index, {
    users: 200,
    idPrefix: `chaos_${index}_`,
    userPrefix: `chaos_${index}_user_`,
    messages: [4, 8],
  }).map((conversation) => ({
    ...conversation,
    conversation_log: [
      ...conversation.conversation_log,
      { role: "user", content: `(reference ${conversation.conversation_id})`, timestamp: conversation.end_time },
    ],
  }));
}

async function waitForHeartbeats(pool: pg.Pool, fleet: WorkerFleet, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(
      "select count(*)::int as n from parley.worker_heartbeats where pid = any($1) and last_seen_at > now() - interval '10 seconds'",
      [fleet.pids()]);
    if (rows[0]!.n >= WORKERS) return;
    if (Date.now() > deadline) throw new Error(`chaos: only ${rows[0]!.n} of ${WORKERS} workers came up within ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

async function diagnose(pool: pg.Pool, acknowledged: string[]): Promise<string> {
  const { rows } = await pool.query(`
    select e.event_id, e.status, e.attempt_count, e.next_attempt_at, e.error_code,
           j.id as job_id, j.attempts as job_attempts, j.run_at, j.locked_by, j.locked_at, left(j.last_error, 200) as last_error,
           (select max(last_seen_at) from parley.worker_heartbeats h where h.worker_id = j.locked_by) as holder_seen
    from parley.conversation_events e
    left join graphile_worker.jobs j on j.key = 'parley:event:' || e.event_id
    where e.conversation_id = any($1) and e.status in ('PENDING', 'PROCESSING')
    order by e.event_id limit 10`, [acknowledged]);
  const heartbeats = await pool.query("select worker_id, pid, last_seen_at from parley.worker_heartbeats order by worker_id");
  return JSON.stringify({ unfinished: rows, heartbeats: heartbeats.rows }, null, 2);
}

async function runScenario(server: ChaosPostgres, scenario: Scenario, index: number, dataDir: string): Promise<ScenarioResult> {
  const database = `chaos_${index}`;
  const admin = new pg.Client({ connectionString: server.url() });
  await admin.connect();
  await admin.query(`drop database if exists ${database}`);
  await admin.query(`create database ${database}`);
  await admin.end();
  await migrate(server.url(database));

  const slug = scenario.name.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  const logFd = openSync(path.join(dataDir, `${slug}.log`), "a");
  const fleet = new WorkerFleet({
    script: scenario.script ?? values["worker-script"],
    args: scenario.args ?? [],
    size: WORKERS,
    logFd,
    env: {
      ...process.env,
      DATABASE_URL: server.url(database),
      PARLEY_EMBEDDER: "hashing",
      PARLEY_RETRY_SCHEDULE: RETRY_SCHEDULE,
      PARLEY_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      PARLEY_CONCURRENCY: "4",
      PARLEY_METRICS_PORT: "0",
      LOG_LEVEL: "warn",
      ...scenario.env,
    },
  });
  const observer = createPool(server.url(database), 2, "parley-chaos-observer");
  try {
    fleet.start();
    await waitForHeartbeats(observer, fleet);

    const conversations = conversationsFor(index);
    const loadSeconds = conversations.length / RATE;
    say(`${scenario.name}: ${conversations.length} conversations over ${loadSeconds.toFixed(0)} s, ${WORKERS} workers`);
    const stopFaults = new AbortController();
    const context: FaultContext = { fleet, server, database, signal: stopFaults.signal, loadSeconds, faults: [], notes: [] };
    const faulting = scenario.inject(context);
    const load = await drive({ url: server.url(database), conversations, ratePerSecond: RATE, concurrency: 8 });
    stopFaults.abort();
    await faulting;
    const loaded = Date.now();
    if (load.rejected.length > 0) context.notes.push(`${load.rejected.length} writes refused (first: ${load.rejected[0]!.message})`);

    const acknowledged = [...load.acknowledged.keys()];
    let settledAt: number | null = null;
    // The observer's pooled connection may have died with the server: one retry gets a fresh one.
    const check = () => outcome(observer, acknowledged, scenario.designed, MAX_ATTEMPTS)
      .catch(() => outcome(observer, acknowledged, scenario.designed, MAX_ATTEMPTS));
    let last = await check();
    while (Date.now() - loaded < SETTLE_TIMEOUT_MS) {
      last = await check();
      if (last.missing + last.unfinished === 0) {
        settledAt = Date.now();
        break;
      }
      await sleep(500);
    }
    if (settledAt === null) {
      context.notes.push(`not settled after ${SETTLE_TIMEOUT_MS / 1000} s`);
      say(`${scenario.name}: NOT SETTLED\n${await diagnose(observer, acknowledged)}`);
    }
    const counted = await ledger(observer);
    if (counted.orphans > 0) context.notes.push(`${counted.orphans} users with events but no friendship_status row, or the reverse`);
    const times = await eventTimes(observer);
    const { rows: [retried] } = await observer.query<{ events: number; attempts: number }>(
      "select count(*) filter (where attempt_count > 1)::int as events, coalesce(sum(attempt_count), 0)::int as attempts from parley.conversation_events");
    context.notes.push(`${retried!.events} events needed more than one attempt (${retried!.attempts} attempts in all)`);

    const { rows: [alive] } = await observer.query<{ n: number }>(
      "select count(*)::int as n from parley.worker_heartbeats where pid = any($1) and last_seen_at > now() - interval '10 seconds'",
      [fleet.pids()]);
    if (alive!.n < WORKERS) context.notes.push(`only ${alive!.n} of ${WORKERS} workers heartbeating at the end`);

    const result: ScenarioResult = {
      scenario: scenario.name,
      conversations: last.acknowledged,
      processed: last.processed,
      failedAsDesigned: last.failedAsDesigned,
      lost: last.missing + last.unfinished + last.failedOtherwise,
      doubleCounted: counted.doubleCounted,
      scoreMismatches: counted.scoreMismatches,
      faults: context.faults.length,
      worstRecovery: worstRecovery(context.faults, times),
      settle: settledAt === null ? null : (settledAt - loaded) / 1000,
      writeRetries: load.retries,
      unplannedExits: fleet.unplannedExits.length,
      notes: context.notes.join("; "),
    };
    say(`${scenario.name}: ${verdict(result)} (${result.processed} processed, ${result.lost} lost, ${result.unplannedExits} unplanned worker exits)`);
    return result;
  } finally {
    await fleet.stop();
    await observer.end();
    closeSync(logFd);
  }
}

async function main() {
  const dataDir = path.resolve(`.data/chaos-${process.pid}`);
  mkdirSync(dataDir, { recursive: true });
  const scenarios = SCENARIOS.filter((scenario) => !values.only || scenario.name.toLowerCase().includes(values.only.toLowerCase()));
  const cpus = os.cpus();
  say(`embedded PostgreSQL under ${dataDir}; ${scenarios.length} scenarios`);
  const server = await ChaosPostgres.start(path.join(dataDir, "postgres"));
  let interrupted = false;
  process.on("SIGINT", () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    say("interrupted: stopping workers and the embedded PostgreSQL");
    server.stop().finally(() => process.exit(130));
  });
  const results: ScenarioResult[] = [];
  const started = Date.now();
  try {
    const probe = new pg.Client({ connectionString: server.url() });
    await probe.connect();
    const { rows: [version] } = await probe.query<{ v: string }>("select current_setting('server_version') as v");
    await probe.end();
    for (const [index, scenario] of scenarios.entries()) {
      results.push(await runScenario(server, scenario, index, dataDir));
    }
    process.stdout.write(`\n${renderTable(results)}\n\n`);
    process.stdout.write(`machine: ${cpus[0]?.model ?? "?"} x${cpus.length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ` +
      `Node ${process.version}, embedded PostgreSQL ${version!.v}; ${WORKERS} workers x PARLEY_CONCURRENCY=4, ` +
      `PARLEY_EMBEDDER=hashing, PARLEY_RETRY_SCHEDULE=${RETRY_SCHEDULE}; total ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  } finally {
    await server.stop().catch(() => {});
    if (values.keep) say(`kept the worker logs under ${dataDir}`);
    else await rm(dataDir, { recursive: true, force: true });
  }
  process.exitCode = results.every(passed) ? 0 : 1;
}

await main();
