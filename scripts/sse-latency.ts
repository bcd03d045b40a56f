// Measures how long it takes from the commit of POST /v1/conversations/end to
// an SSE client receiving that event's PROCESSED change.
//
//   DATABASE_URL=postgres://... PARLEY_EMBEDDER=hashing npx tsx scripts/sse-latency.ts \
//     [--count 200] [--concurrency 4] [--external-worker]
//
// It migrates, starts the HTTP API in this process on a free port (with a
// throw-away key) and, unless --external-worker, a worker in this process
// too; with --external-worker it expects `npm run worker` to be running
// against the same database. It writes --count conversations (profiles
// sse_latency_<run>_*). The commit happens between sending the POST and its
// 202 arriving; latency is reported from both: an upper and a lower bound.
import { createHash, randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.js";
import { requireDatabaseUrl } from "../src/db/database-url.js";
import { migrate } from "../src/db/migrate.js";
import { createPool } from "../src/db/pool.js";
import { buildApp } from "../src/http/app.js";
import { createApiPool } from "../src/http/pool.js";
import { openEventStream } from "../src/http/sse-client.js";
import { createLogger } from "../src/log.js";
import { startWorker, workerConnections } from "../src/worker/runner.js";
import { percentiles } from "./lib/demo-report.js";

const { values: args } = parseArgs({
  options: {
    count: { type: "string", default: "200" },
    concurrency: { type: "string", default: "4" },
    "external-worker": { type: "boolean", default: false },
  },
});
const count = Number(args.count);
const concurrency = Number(args.concurrency);

const config = loadConfig();
const databaseUrl = requireDatabaseUrl(config);
const log = createLogger("warn", "sse-latency");
await migrate(databaseUrl);

const key = randomBytes(24).toString("base64url");
const apiConfig = { ...config, api: { ...config.api, auth: "on" as const, keyHashes: [createHash("sha256").update(key).digest()] } };
const apiPool = createApiPool(databaseUrl);
const app = buildApp({ pool: apiPool, log, config: apiConfig });
const base = await app.listen({ host: "127.0.0.1", port: 0 });

const workerPool = args["external-worker"] ? undefined : createPool(databaseUrl, workerConnections(config), "parley-sse-latency-worker");
const worker = workerPool ? await startWorker({ config, pool: workerPool, log }) : undefined;
if (worker) await worker.workerId;

const run = randomBytes(3).toString("hex");
const stream = await openEventStream(base, { apiKey: key });
await stream.waitFor((message) => message.event === "ready");
const processedAt = new Map<string, number>();
const failed = new Set<string>();
const waiters = new Map<string, () => void>();
stream.onMessage((message) => {
  if (message.event !== "message") return;
  const change = JSON.parse(message.data) as { event_id: string; status: string };
  if (change.status === "PROCESSED") processedAt.set(change.event_id, message.receivedAt);
  else if (change.status === "FAILED") failed.add(change.event_id);
  else return;
  waiters.get(change.event_id)?.();
});

async function one(i: number) {
  const payload = {
    conversation_id: `sse_latency_${run}_${i < 0 ? "warmup" : i}`,
    profile_id: `sse_latency_${run}_${Math.max(i, 0) % 20}`,
    bot_type: "TALK",
    bot_id: "talk_movie_preference",
    start_time: "2025-11-25T18:00:00Z",
    end_time: "2025-11-25T18:20:00Z",
    conversation_log: [
      { role: "agent", content: "Hi! Seen any good movies lately?" },
      { role: "user", content: `Yes, Dune part ${i}. Have you seen it? The soundtrack was great.` },
      { role: "agent", content: "I have! What did you like most?" },
    ],
  };
  const sent = performance.now();
  const response = await fetch(`${base}/v1/conversations/end`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(payload),
  });
  const committed = performance.now();
  if (response.status !== 202) throw new Error(`POST answered ${response.status}: ${await response.text()}`);
  const { event_id: eventId } = (await response.json()) as { event_id: string };
  if (!processedAt.has(eventId) && !failed.has(eventId)) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`event ${eventId} not PROCESSED within 60 s`)), 60_000);
      waiters.set(eventId, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    waiters.delete(eventId);
  }
  if (failed.has(eventId)) throw new Error(`event ${eventId} FAILED`);
  const received = processedAt.get(eventId)!;
  return { post: committed - sent, fromSent: received - sent, fromAnswer: received - committed };
}

// One conversation first, not counted: the worker's first job loads the model and topic prototypes.
await one(-1);
const results: Array<{ post: number; fromSent: number; fromAnswer: number }> = [];
const started = performance.now();
let next = 0;
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < count) results.push(await one(next++));
}));
const seconds = (performance.now() - started) / 1000;

const ms = (value: number | null) => (value === null ? "-" : `${value.toFixed(1)} ms`);
const ranks = [0.5, 0.9, 0.99, 1];
const line = (label: string, values: number[]) => {
  const [p50, p90, p99, max] = percentiles(values, ranks);
  return `${label}: p50 ${ms(p50!)}  p90 ${ms(p90!)}  p99 ${ms(p99!)}  max ${ms(max!)}`;
};
console.log([
  `${count} conversations, ${concurrency} at a time, ${seconds.toFixed(1)} s; worker ${worker ? "in this process" : "external"}, embedder ${worker?.embedder.model ?? config.embedder}`,
  line("commit -> SSE PROCESSED, upper bound (from POST sent)  ", results.map((result) => result.fromSent)),
  line("commit -> SSE PROCESSED, lower bound (from 202 received)", results.map((result) => result.fromAnswer)),
  line("POST /v1/conversations/end                              ", results.map((result) => result.post)),
].join("\n"));

stream.close();
await worker?.stop();
await app.close();
await Promise.all([apiPool.end(), workerPool?.end()]);
