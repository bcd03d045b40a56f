// The HTTP API's routes with fastify's inject() over a real PostgreSQL: auth,
// every error code, payload limits, idempotency, the live-conversation flow,
// and results after a worker (in this process) processed them.
import { afterAll, describe, expect } from "vitest";
import type { FastifyInstance } from "fastify";
import { Registry } from "prom-client";
import { it } from "../support/database.js";
import { createPool } from "../../src/db/pool.js";
import { BODY_LIMIT, buildApp } from "../../src/http/app.js";
import { startWorker, type RunningWorker } from "../../src/worker/runner.js";
import { rankCandidates } from "../../src/pipeline/candidates.js";
import { topicAffinity } from "../../src/pipeline/friendship.js";
import { API_KEY, AUTH, capturingLogger, endPayload, OTHER_KEY, silentLog, testApp, testConfig, until } from "./support.js";

let app: FastifyInstance;
const logs = capturingLogger();

it.beforeAll(async ({ database }) => {
  app = buildApp({ pool: database.pool, log: logs.log, config: testConfig(), metricsRegistry: new Registry() });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
});

const post = (url: string, payload?: unknown, headers: Record<string, string> = AUTH) =>
  app.inject({ method: "POST", url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
const get = (url: string, headers: Record<string, string> = AUTH) => app.inject({ method: "GET", url, headers });

describe("authentication", () => {
  const routes: Array<[string, string]> = [
    ["POST", "/v1/conversations/end"],
    ["POST", "/v1/conversations"],
    ["POST", "/v1/conversations/c1/messages"],
    ["POST", "/v1/conversations/c1/close"],
    ["GET", "/v1/conversations/c1"],
    ["GET", "/v1/users/u1/state"],
    ["POST", "/v1/events/1/retry"],
    ["GET", "/v1/events/stream"],
    ["GET", "/docs/json"],
    ["GET", "/metrics"],
    ["GET", "/no/such/route"],
  ];

  it.each(routes)("%s %s answers 401 without a key, with a wrong one and with a malformed header", async (method, url) => {
    for (const headers of [{}, { authorization: `Bearer ${OTHER_KEY}` }, { authorization: API_KEY }]) {
      const response = await app.inject({ method: method as "GET", url, headers });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ code: "unauthorized" });
      expect(response.headers["www-authenticate"]).toBe('Bearer realm="parley"');
    }
  });

  it("leaves /health open", async () => {
    expect((await app.inject({ method: "GET", url: "/health" })).statusCode).toBe(200);
  });

  it("never writes a key to the log, right or wrong", async () => {
    await get("/v1/users/u1/state");
    await get("/v1/users/u1/state", { authorization: `Bearer ${OTHER_KEY}` });
    const text = logs.lines.join("\n");
    expect(text).toContain("request completed");
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain(OTHER_KEY);
  });

  it("serves /metrics behind the key when a registry is given", async () => {
    const response = await get("/metrics");
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^text\/plain/);
  });

  it("refuses to build without keys unless PARLEY_API_AUTH=off, and then says so", ({ database }) => {
    expect(() => buildApp({ pool: database.pool, log: silentLog, config: testConfig({ PARLEY_API_KEYS: "" }) }))
      .toThrow(/PARLEY_API_KEYS: is required/);
    const { log, lines } = capturingLogger();
    const open = buildApp({ pool: database.pool, log, config: testConfig({ PARLEY_API_KEYS: "", PARLEY_API_AUTH: "off" }) });
    expect(lines.some((line) => line.includes("PARLEY_API_AUTH=off"))).toBe(true);
    return open.close();
  });
});

describe("request ids and logs", () => {
  /** The "request completed" line of the request that got this response. */
  const completionLine = (response: { headers: Record<string, unknown> }) => logs.lines.map((line) => JSON.parse(line)).find((line) =>
    line.msg === "request completed" && line.request_id === response.headers["x-request-id"]);

  it("answers with the request id, the caller's own when it sends a sane one", async () => {
    const fresh = await get("/v1/users/u1/state");
    expect(fresh.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    const given = await get("/v1/users/u1/state", { ...AUTH, "x-request-id": "lb-1234" });
    expect(given.headers["x-request-id"]).toBe("lb-1234");
    const refused = await get("/v1/users/u1/state", { ...AUTH, "x-request-id": "bad id with spaces" });
    expect(refused.headers["x-request-id"]).not.toBe("bad id with spaces");
  });

  it("logs event_id and conversation_id on the request's lines", async () => {
    const payload = endPayload();
    const response = await post("/v1/conversations/end", payload);
    const { event_id } = response.json();
    expect(completionLine(response)).toMatchObject({ conversation_id: payload.conversation_id, event_id, api_key: 1 });
  });

  it("logs the ids in a route's path on the request's lines", async () => {
    const response = await get("/v1/users/u-logged/state");
    expect(completionLine(response)).toMatchObject({ profile_id: "u-logged", api_key: 1 });
  });
});

describe("POST /v1/conversations/end", () => {
  it("answers 202 with the event, and the same event for the same conversation_id", async ({ database }) => {
    const payload = endPayload();
    const first = await post("/v1/conversations/end", payload);
    expect(first.statusCode).toBe(202);
    expect(first.json()).toEqual({ event_id: expect.stringMatching(/^\d+$/), conversation_id: payload.conversation_id, status: "PENDING" });
    const again = await post("/v1/conversations/end", payload);
    expect(again.statusCode).toBe(202);
    expect(again.json().event_id).toBe(first.json().event_id);
    const { rows } = await database.pool.query("select count(*)::int as n from parley.conversation_events where conversation_id = $1", [payload.conversation_id]);
    expect(rows[0].n).toBe(1);
  });

  it("answers 400 invalid_payload naming the field, from the schema or from SQL", async () => {
    const cases: Array<[unknown, string]> = [
      [{ ...endPayload(), bot_type: "CHAT" }, "bot_type"],
      [{ ...endPayload(), conversation_log: [{ role: "user" }] }, "conversation_log[0].content"],
      [{ ...endPayload(), mood: "happy" }, "mood"],
      // Only SQL knows these two.
      [endPayload({ end_time: "2025-11-25T17:00:00Z" }), "end_time"],
      [endPayload({ start_time: "2025-02-30T18:00:00Z" }), "start_time"],
    ];
    for (const [payload, field] of cases) {
      const response = await post("/v1/conversations/end", payload);
      expect(response.statusCode, field).toBe(400);
      expect(response.json()).toMatchObject({ code: "invalid_payload", field });
      expect(response.json().message).toMatch(new RegExp(`^${field.replace(/[[\].]/g, "\\$&")}: `));
    }
  });

  it("answers 400 for a body that is not JSON or is empty, and 415 for another content type", async () => {
    const notJson = await app.inject({ method: "POST", url: "/v1/conversations/end", headers: { ...AUTH, "content-type": "application/json" }, payload: "{nope" });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json()).toMatchObject({ code: "invalid_payload", field: "payload" });
    const empty = await app.inject({ method: "POST", url: "/v1/conversations/end", headers: { ...AUTH, "content-type": "application/json" }, payload: "" });
    expect(empty.json()).toMatchObject({ code: "invalid_payload", message: "payload: is required" });
    const text = await app.inject({ method: "POST", url: "/v1/conversations/end", headers: { ...AUTH, "content-type": "text/plain" }, payload: "hi" });
    expect(text.statusCode).toBe(415);
    expect(text.json()).toMatchObject({ code: "unsupported_media_type" });
  });

  it("answers 413 payload_too_large above the body limit, and when SQL finds the payload over 1 MiB", async () => {
    const huge = endPayload({ conversation_log: [{ role: "user", content: "x".repeat(BODY_LIMIT) }] });
    const overLimit = await post("/v1/conversations/end", huge);
    expect(overLimit.statusCode).toBe(413);
    expect(overLimit.json()).toMatchObject({ code: "payload_too_large", field: "payload" });

    // Under the body limit, over the SQL API's 1 MiB: 40 messages of 30,000 characters.
    const big = endPayload({ conversation_log: Array.from({ length: 40 }, () => ({ role: "user" as const, content: "y".repeat(30_000) })) });
    expect(JSON.stringify(big).length).toBeLessThan(BODY_LIMIT);
    const overSql = await post("/v1/conversations/end", big);
    expect(overSql.statusCode).toBe(413);
    expect(overSql.json()).toMatchObject({ code: "payload_too_large", field: "payload" });
    expect(overSql.json().message).toMatch(/the limit is 1048576/);
  });
});

describe("live conversations", () => {
  it("starts, appends (idempotently), closes, and refuses messages after the end", async () => {
    const started = await post("/v1/conversations", { user_id: "user_live", bot_type: "TALK", bot_id: "talk_music_taste" });
    expect(started.statusCode).toBe(201);
    const id: string = started.json().conversation_id;
    expect(id).toMatch(/^conv_[0-9a-f]{32}$/);

    const messages = [
      { role: "agent", content: "What music do you like?", message_id: "m1" },
      { role: "user", content: "Jazz, mostly. Do you?", message_id: "m2" },
    ];
    const appended = await post(`/v1/conversations/${id}/messages`, { messages });
    expect(appended.statusCode).toBe(200);
    expect(appended.json()).toEqual({ conversation_id: id, appended: 2 });
    expect((await post(`/v1/conversations/${id}/messages`, { messages })).json().appended).toBe(0);

    const open = (await get(`/v1/conversations/${id}`)).json();
    expect(open.conversation).toMatchObject({ is_active: true, message_count: 2, profile_id: "user_live" });
    expect(open.event).toBeNull();

    const closed = await post(`/v1/conversations/${id}/close`);
    expect(closed.statusCode).toBe(202);
    expect(closed.json()).toMatchObject({ conversation_id: id, status: "PENDING" });
    expect((await post(`/v1/conversations/${id}/close`)).json().event_id).toBe(closed.json().event_id);

    const late = await post(`/v1/conversations/${id}/messages`, { messages: [{ role: "user", content: "one more" }] });
    expect(late.statusCode).toBe(409);
    expect(late.json()).toMatchObject({ code: "conversation_ended", field: "conversation_id" });

    const detail = (await get(`/v1/conversations/${id}`)).json();
    expect(detail.conversation.is_active).toBe(false);
    expect(detail.messages.map((message: { content: string }) => message.content)).toEqual(messages.map((message) => message.content));
    expect(detail.event).toMatchObject({ event_id: closed.json().event_id, status: "PENDING", results: null });
  });

  it("answers 404 for a conversation or event that does not exist, 400 for a malformed id", async () => {
    for (const response of [
      await post("/v1/conversations/conv_missing/messages", { messages: [] }),
      await post("/v1/conversations/conv_missing/close"),
      await get("/v1/conversations/conv_missing"),
    ]) {
      expect(response.statusCode).toBe(404);
      expect(response.json()).toMatchObject({ code: "conversation_not_found", field: "conversation_id" });
    }
    const event = await post("/v1/events/987654321/retry");
    expect(event.statusCode).toBe(404);
    expect(event.json()).toMatchObject({ code: "event_not_found", field: "event_id" });
    const malformed = await post("/v1/events/abc/retry");
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ code: "invalid_payload", field: "event_id" });
    const route = await get("/v1/nothing");
    expect(route.statusCode).toBe(404);
    expect(route.json()).toMatchObject({ code: "not_found" });
  });
});

describe("after processing (worker in this process)", () => {
  let worker: RunningWorker;
  let workerPool: ReturnType<typeof createPool>;
  it.beforeAll(async ({ database }) => {
    workerPool = createPool(database.url, 6, "parley-test-worker");
    worker = await startWorker({ config: testConfig(), pool: workerPool, log: silentLog, pollInterval: 500 });
    await worker.workerId;
  });
  afterAll(async () => {
    await worker?.stop();
    await workerPool?.end();
  });

  const processed = (conversationId: string, status = "PROCESSED") => until(async () => {
    const detail = (await get(`/v1/conversations/${conversationId}`)).json();
    return detail.event?.status === status ? detail : undefined;
  });

  it("shows the event's results and the user's state", async ({ database }) => {
    const payload = endPayload({ profile_id: "user_state" });
    expect((await post("/v1/conversations/end", payload)).statusCode).toBe(202);
    const detail = await processed(payload.conversation_id);
    expect(detail.event.results).toMatchObject({ total_turns: 2, new_friendship_level: "PHASE1_STRANGER" });

    const state = await get("/v1/users/user_state/state");
    expect(state.statusCode).toBe(200);
    expect(state.json()).toMatchObject({
      profile_id: "user_state",
      friendship_status: { conversation_count: 1, last_event_id: detail.event.event_id, friendship_level: "PHASE1_STRANGER" },
      agent_candidates: { expired: false, source_event_id: detail.event.event_id },
    });
    // The user's first conversation: its change is the whole score, its topics the whole profile.
    const body = state.json();
    expect(body.friendship_status).toMatchObject({
      friendship_score: detail.event.results.friendship_score_change,
      topic_metrics: detail.event.results.topic_metrics,
    });
    // The candidates the ranking gives that state: a stranger's agents, the bot just talked to counting as recent.
    const catalog = await database.db.selectFrom("parley.agent_catalog")
      .select(["agent_id", "agent_type", "name", "topics", "levels"]).where("is_enabled", "=", true).execute();
    const expected = rankCandidates({
      catalog, level: "PHASE1_STRANGER", topicAffinity: topicAffinity(body.friendship_status.topic_metrics), recentAgentIds: [payload.bot_id], limit: 3,
    });
    expect(expected.talk_candidates).toHaveLength(3);
    expect(expected.game_candidates).toHaveLength(3);
    expect(expected.greeting_agent?.agent_id).toBe("greet_first_hello");
    expect(body.agent_candidates).toMatchObject(expected);
  });

  it("answers a stranger's state for a user never seen", async () => {
    expect((await get("/v1/users/nobody/state")).json()).toMatchObject({
      friendship_status: { friendship_score: 0, friendship_level: "PHASE1_STRANGER", conversation_count: 0 },
      agent_candidates: null,
    });
  });

  it("retries a FAILED event (202) and leaves any other alone (200, retried false)", async () => {
    // A conversation closed with no messages fails for good: empty_conversation.
    const id = (await post("/v1/conversations", { profile_id: "user_retry", bot_type: "GREETING", bot_id: "greet_first_hello" })).json().conversation_id;
    const eventId = (await post(`/v1/conversations/${id}/close`)).json().event_id;
    const failed = await processed(id, "FAILED");
    expect(failed.event.error_code).toBe("empty_conversation");

    const retried = await post(`/v1/events/${eventId}/retry`);
    expect(retried.statusCode).toBe(202);
    expect(retried.json()).toEqual({ event_id: eventId, retried: true, status: "PENDING" });
    await processed(id, "FAILED");

    const done = await post("/v1/conversations/end", endPayload());
    await processed(done.json().conversation_id);
    const notFailed = await post(`/v1/events/${done.json().event_id}/retry`);
    expect(notFailed.statusCode).toBe(200);
    expect(notFailed.json()).toEqual({ event_id: done.json().event_id, retried: false, status: "PROCESSED" });
  });

  it("reports health: database, queue and the worker's heartbeat", async ({ database }) => {
    const health = await until(async () => {
      const body = (await app.inject({ method: "GET", url: "/health" })).json();
      return body.status === "ok" ? body : undefined;
    });
    expect(health.database.reachable).toBe(true);
    expect(health.queue).toMatchObject({ pending: expect.any(Number), failed: expect.any(Number) });
    expect(health.workers).toEqual(expect.arrayContaining([expect.objectContaining({ worker_id: await worker.workerId, alive: true })]));
  });
});

describe("GET /docs/json", () => {
  it("is an OpenAPI document generated from the zod schemas", async () => {
    const doc = (await get("/docs/json")).json();
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining([
      "/v1/conversations/end", "/v1/conversations", "/v1/conversations/{conversation_id}/messages",
      "/v1/conversations/{conversation_id}/close", "/v1/conversations/{conversation_id}", "/v1/users/{profile_id}/state",
      "/v1/events/{event_id}/retry", "/v1/events/stream", "/health",
    ]));
    const end = doc.paths["/v1/conversations/end"].post;
    expect(JSON.stringify(end.requestBody)).toContain("EndConversationPayload");
    expect(doc.components.schemas.EndConversationPayloadInput.required).toEqual(
      expect.arrayContaining(["conversation_id", "bot_type", "bot_id", "start_time", "end_time"]));
    expect(Object.keys(end.responses)).toEqual(expect.arrayContaining(["202", "400", "401", "413", "503"]));
  });
});

describe("a second app on the same database", () => {
  it("works with its own hub and closes cleanly", async ({ database }) => {
    const other = testApp(database.pool);
    expect((await other.inject({ method: "GET", url: "/v1/users/u1/state", headers: AUTH })).statusCode).toBe(200);
    await other.close();
  });
});
