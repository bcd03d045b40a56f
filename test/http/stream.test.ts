// GET /v1/events/stream over a real socket: live changes as they commit,
// filters, resume with Last-Event-ID, replay after the LISTEN connection was
// lost, and a PROCESSED change pushed by a worker running in another process.
import { afterAll, beforeAll, describe, expect } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { createTestDatabase, it, type TestDatabase } from "../support/database.js";
import { buildApp } from "../../src/http/app.js";
import { EventHub } from "../../src/http/stream/hub.js";
import { comparePositions, parseCursor, type Position } from "../../src/http/stream/position.js";
import { openEventStream, type EventStreamClient, type ReceivedMessage } from "../../src/http/sse-client.js";
import { API_KEY, AUTH, capturingLogger, changesSettled, endPayload, silentLog, testConfig, until } from "./support.js";

let app: FastifyInstance;
let base: string;
const clients: EventStreamClient[] = [];

it.beforeAll(async ({ database }) => {
  app = buildApp({ pool: database.pool, log: silentLog, config: testConfig(), sseHeartbeatMs: 100 });
  base = await app.listen({ host: "127.0.0.1", port: 0 });
});
afterAll(async () => {
  for (const client of clients) client.close();
  await app?.close();
});

async function stream(options: Parameters<typeof openEventStream>[1] = {}, url = base) {
  const client = await openEventStream(url, { apiKey: API_KEY, ...options });
  clients.push(client);
  await client.waitFor((message) => message.event === "ready");
  return client;
}

async function end(payload = endPayload(), url = base): Promise<{ event_id: string; conversation_id: string }> {
  const response = await fetch(`${url}/v1/conversations/end`, {
    method: "POST", headers: { ...AUTH, "content-type": "application/json" }, body: JSON.stringify(payload),
  });
  expect(response.status).toBe(202);
  return response.json() as Promise<{ event_id: string; conversation_id: string }>;
}

const setStatus = (database: TestDatabase, eventId: string, status: string) =>
  database.pool.query("update parley.conversation_events set status = $2 where event_id = $1", [eventId, status]);

const changes = (client: EventStreamClient) =>
  client.messages.filter((message) => message.event === "message").map((message) => JSON.parse(message.data) as { event_id: string; status: string; position: string; profile_id: string });

const isChange = (eventId: string, status: string) => (message: ReceivedMessage) =>
  message.event === "message" && JSON.parse(message.data).event_id === eventId && JSON.parse(message.data).status === status;

describe("the live stream", () => {
  it("pushes each status change as it commits, only for the user asked for", async ({ database }) => {
    const client = await stream({ query: { user_id: "user_live_a" } });
    const mine = await end(endPayload({ profile_id: "user_live_a" }));
    await end(endPayload({ profile_id: "user_live_b" }));
    await setStatus(database, mine.event_id, "PROCESSING");
    const processing = await client.waitFor(isChange(mine.event_id, "PROCESSING"));
    expect(processing.id).toMatch(/^\d+-\d+$/);
    expect(processing.id).toBe(JSON.parse(processing.data).position);
    expect(changes(client).map((change) => [change.event_id, change.status])).toEqual([
      [mine.event_id, "PENDING"], [mine.event_id, "PROCESSING"],
    ]);
    expect(changes(client).every((change) => change.profile_id === "user_live_a")).toBe(true);
  });

  it("filters by conversation", async () => {
    const payload = endPayload({ profile_id: "user_by_conversation" });
    const client = await stream({ query: { conversation_id: payload.conversation_id } });
    await end(endPayload({ profile_id: "user_by_conversation" }));
    const { event_id } = await end(payload);
    await client.waitFor(isChange(event_id, "PENDING"));
    expect(changes(client).map((change) => change.event_id)).toEqual([event_id]);
  });

  it("resumes with Last-Event-ID: the latest state of every event changed since, once each, then live", async ({ database }) => {
    const filter = { profile_id: "user_resume" };
    const first = await stream({ query: filter });
    const one = await end(endPayload({ profile_id: "user_resume" }));
    await first.waitFor(isChange(one.event_id, "PENDING"));
    const cursor = first.cursor;
    first.close();

    // While the client is away: a new event, and the first one moves twice.
    const two = await end(endPayload({ profile_id: "user_resume" }));
    await setStatus(database, one.event_id, "PROCESSING");
    await setStatus(database, one.event_id, "PROCESSED");
    await changesSettled(database.pool);

    const resumed = await stream({ query: filter, lastEventId: cursor });
    expect(changes(resumed).map((change) => [change.event_id, change.status])).toEqual([
      [two.event_id, "PENDING"], [one.event_id, "PROCESSED"],
    ]);
    const ready = resumed.messages.find((message) => message.event === "ready")!;
    expect(JSON.parse(ready.data)).toMatchObject({ resumed: 2 });
    const from = parseCursor(cursor) as Position;
    expect(changes(resumed).every((change) => comparePositions(parseCursor(change.position) as Position, from) > 0)).toBe(true);

    await setStatus(database, two.event_id, "PROCESSING");
    await resumed.waitFor(isChange(two.event_id, "PROCESSING"));
    expect(changes(resumed)).toHaveLength(3);

    // The query parameter does the same for clients that cannot set the header.
    const byQuery = await stream({ query: { ...filter, last_event_id: cursor } });
    expect(changes(byQuery).map((change) => change.event_id)).toEqual([one.event_id, two.event_id]);
  });

  it("replays a long backlog in log order, comparing positions as numbers", async ({ database }) => {
    const ids = [];
    for (let i = 0; i < 12; i++) ids.push((await end(endPayload({ profile_id: "user_order" }))).event_id);
    await changesSettled(database.pool);
    const client = await stream({ query: { profile_id: "user_order" }, lastEventId: "0-0" });
    expect(changes(client).map((change) => change.event_id)).toEqual(ids);
  });

  it("tells a client whose cursor predates the change log that it may have missed changes, and goes live", async () => {
    const client = await stream({ query: { profile_id: "user_legacy" }, lastEventId: "12:345" });
    const ready = client.messages.find((message) => message.event === "ready")!;
    expect(JSON.parse(ready.data)).toMatchObject({ resumed: 0, expired: true });
    const { event_id } = await end(endPayload({ profile_id: "user_legacy" }));
    await client.waitFor(isChange(event_id, "PENDING"));
  });

  it("gives a fresh client its cursor in the ready message, so a reconnect before any change misses nothing", async ({ database }) => {
    const client = await stream({ query: { profile_id: "user_fresh" } });
    const cursor = client.cursor;
    expect(cursor).toMatch(/^\d+-\d+$/);
    client.close();
    const missed = await end(endPayload({ profile_id: "user_fresh" }));
    await changesSettled(database.pool);
    const again = await stream({ query: { profile_id: "user_fresh" }, lastEventId: cursor });
    expect(changes(again).map((change) => change.event_id)).toEqual([missed.event_id]);
  });

  it("answers 400 for a Last-Event-ID it did not send and for disagreeing user filters", async () => {
    const bad = await app.inject({ method: "GET", url: "/v1/events/stream", headers: { ...AUTH, "last-event-id": "yesterday" } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: "invalid_payload", field: "Last-Event-ID" });
    const disagree = await app.inject({ method: "GET", url: "/v1/events/stream?profile_id=a&user_id=b", headers: AUTH });
    expect(disagree.json()).toMatchObject({ code: "invalid_payload", field: "user_id" });
  });

  it("sends keep-alive comments and ends open streams when the app closes", async ({ database }) => {
    const other = buildApp({ pool: database.pool, log: silentLog, config: testConfig(), sseHeartbeatMs: 50 });
    const url = await other.listen({ host: "127.0.0.1", port: 0 });
    const response = await fetch(`${url}/v1/events/stream`, { headers: AUTH });
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes(": keep-alive")) text += (await reader.read()).value ?? "";
    await other.close();
    for (;;) if ((await reader.read()).done) break;
  });
});

describe("losing the LISTEN connection", () => {
  // A database of its own, with no event yet when the hub starts. The hub
  // listens as a role of its own, so that the test can keep it from
  // reconnecting (CONNECT revoked) while changes commit, then let it back.
  const role = `parley_listen_${randomBytes(4).toString("hex")}`;
  let lossy: TestDatabase;
  let lossyApp: FastifyInstance;
  let url: string;
  const logs = capturingLogger();

  beforeAll(async () => {
    lossy = await createTestDatabase();
    // A password too: the embedded PostgreSQL (no DATABASE_URL) authenticates by password.
    const password = randomBytes(12).toString("hex");
    await lossy.pool.query(`create role ${role} login password '${password}'`);
    const listenUrl = new URL(lossy.url);
    listenUrl.username = role;
    listenUrl.password = password;
    // pg-listen gives up after 1 s here, so that both ways back are exercised.
    const hub = new EventHub({ connection: { connectionString: listenUrl.toString() }, db: lossy.db, log: logs.log, retryTimeoutMs: 1000 });
    lossyApp = buildApp({ pool: lossy.pool, log: silentLog, config: testConfig(), eventHub: hub });
    lossyApp.addHook("onClose", () => hub.close());
    url = await lossyApp.listen({ host: "127.0.0.1", port: 0 });
  });
  afterAll(async () => {
    await lossyApp?.close();
    await allowListen(true);
    await lossy?.pool.query(`drop role if exists ${role}`);
    await lossy?.drop();
  });

  async function allowListen(allowed: boolean) {
    const name = new URL(lossy.url).pathname.slice(1);
    await lossy.pool.query(allowed ? `grant connect on database ${name} to public` : `revoke connect on database ${name} from public`);
    if (!allowed) {
      await lossy.pool.query(
        "select pg_terminate_backend(pid, 5000) from pg_stat_activity where usename = $1 and datname = current_database()", [role]);
    }
  }

  it("starts a new LISTEN connection when pg-listen gives up, and still misses nothing", async () => {
    const client = await stream({ query: { profile_id: "user_lossy_long" } }, url);
    await allowListen(false);
    const missed = await end(endPayload({ profile_id: "user_lossy_long" }), url);
    await until(async () => logs.lines.some((line) => line.includes("lost its LISTEN connection")));
    await until(async () => logs.lines.some((line) => line.includes("could not reconnect")));
    await allowListen(true);
    await client.waitFor(isChange(missed.event_id, "PENDING"), 15_000);
    const after = await end(endPayload({ profile_id: "user_lossy_long" }), url);
    await client.waitFor(isChange(after.event_id, "PENDING"));
    expect(changes(client).map((change) => change.event_id)).toEqual([missed.event_id, after.event_id]);
  }, 30_000);

  it("replays from the table what was committed while it was down, in order, without repeats", async () => {
    const client = await stream({ query: { profile_id: "user_lossy" } }, url);
    const before = await end(endPayload({ profile_id: "user_lossy" }), url);
    await client.waitFor(isChange(before.event_id, "PENDING"));

    await allowListen(false);
    const missed = [await end(endPayload({ profile_id: "user_lossy" }), url), await end(endPayload({ profile_id: "user_lossy" }), url)];
    await lossy.pool.query("update parley.conversation_events set status = 'PROCESSING' where event_id = $1", [before.event_id]);
    await until(async () => logs.lines.some((line) => line.includes("event stream reconnecting")));
    await allowListen(true);

    await client.waitFor(isChange(before.event_id, "PROCESSING"));
    await until(async () => changes(client).length >= 4);
    expect(changes(client).map((change) => [change.event_id, change.status])).toEqual([
      [before.event_id, "PENDING"], [missed[0]!.event_id, "PENDING"], [missed[1]!.event_id, "PENDING"], [before.event_id, "PROCESSING"],
    ]);
    expect(logs.lines.some((line) => line.includes("reading what committed meanwhile"))).toBe(true);

    // And it is live again.
    const after = await end(endPayload({ profile_id: "user_lossy" }), url);
    await client.waitFor(isChange(after.event_id, "PENDING"));
  });
});

describe("a worker in another process", () => {
  let worker: ChildProcess;
  let output = "";

  it.beforeAll(async ({ database }) => {
    worker = spawn("node_modules/.bin/tsx", ["src/worker/main.ts"], {
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        PARLEY_EMBEDDER: "hashing",
        PARLEY_METRICS_PORT: "0",
        PARLEY_CONCURRENCY: "2",
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group, so that tsx and the node process it starts stop together.
      detached: true,
    });
    worker.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    await until(async () => {
      const { rows } = await database.pool.query("select 1 from parley.worker_heartbeats");
      return rows.length > 0;
    }, 30_000).catch((error: unknown) => {
      throw new Error(`the worker did not start: ${output}`, { cause: error });
    });
  }, 40_000);

  afterAll(async () => {
    if (worker?.pid && worker.exitCode === null) {
      const exited = new Promise((resolve) => worker.once("exit", resolve));
      process.kill(-worker.pid, "SIGTERM");
      const timer = setTimeout(() => worker.pid && process.kill(-worker.pid, "SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
  }, 20_000);

  it("reaches the SSE client as PROCESSED; the latency from commit is logged", async () => {
    const client = await stream({ query: { profile_id: "user_remote" } });
    // The commit happens between sending the POST and its 202 arriving: the
    // two give an upper and a lower bound.
    const bounds: Array<[number, number]> = [];
    for (let i = 0; i < 5; i++) {
      const sent = performance.now();
      const { event_id } = await end(endPayload({ profile_id: "user_remote" }));
      const answered = performance.now();
      const processed = await client.waitFor(isChange(event_id, "PROCESSED"), 20_000);
      bounds.push([processed.receivedAt - sent, processed.receivedAt - answered]);
    }
    const statuses = changes(client).map((change) => change.status);
    expect(statuses.filter((status) => status === "PROCESSED")).toHaveLength(5);
    console.log(`commit -> SSE PROCESSED, worker in another process (from POST sent / from 202 received): ${
      bounds.map(([upper, lower]) => `${upper.toFixed(1)}/${lower.toFixed(1)} ms`).join(", ")}`);
  }, 60_000);
});
