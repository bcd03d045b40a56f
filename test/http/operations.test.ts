// The operator's routes and the dashboard's files, over a real PostgreSQL: what the page reads
// (pipeline stats, FAILED events by error_code, a user's last events), the cookie its
// EventSource opens the stream with, and how the page itself is served.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect } from "vitest";
import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import { it, type TestDatabase } from "../support/database.js";
import { endConversation } from "../support/fixtures.js";
import { buildApp } from "../../src/http/app.js";
import { DASHBOARD_DIR } from "../../src/http/routes/dashboard.js";
import { issueStreamToken, STREAM_TOKEN_SECONDS } from "../../src/http/stream-token.js";
import { API_KEY, AUTH, endPayload, silentLog, testConfig } from "./support.js";

let app: FastifyInstance;
let base: string;

it.beforeAll(async ({ database }) => {
  app = buildApp({ pool: database.pool, log: silentLog, config: testConfig() });
  base = await app.listen({ host: "127.0.0.1", port: 0 });
});
afterAll(async () => {
  await app?.close();
});

const get = (url: string, headers: Record<string, string> = AUTH) => app.inject({ method: "GET", url, headers });

/** An ended conversation whose event is then set to `status` (with an error for FAILED), as a worker would leave it. */
async function eventIn(database: TestDatabase, status: string, fields: { profile_id?: string; error_code?: string; minutesAgo?: number } = {}): Promise<string> {
  const eventId = await endConversation(database.pool, endPayload({ profile_id: fields.profile_id ?? "user_ops" }));
  await database.pool.query(`
    update parley.conversation_events set status = $2, attempt_count = 1,
      last_attempt_at = now() - make_interval(mins => $4),
      processed_at = case when $2 = 'PROCESSED' then now() - make_interval(mins => $4) end,
      error_code = case when $2 = 'FAILED' then $3 end,
      error_details = case when $2 = 'FAILED' then 'details of ' || $3 end,
      friendship_score_change = case when $2 = 'PROCESSED' then 1.5 end,
      new_friendship_level = case when $2 = 'PROCESSED' then 'PHASE1_STRANGER' end,
      total_turns = case when $2 = 'PROCESSED' then 2 end
    where event_id = $1`, [eventId, status, fields.error_code ?? "embedding_failed", fields.minutesAgo ?? 0]);
  return eventId;
}

describe("GET /v1/pipeline/stats", () => {
  it("answers parley.pipeline_stats and 60 minutes of throughput, oldest first", async ({ database }) => {
    await eventIn(database, "PROCESSED", { minutesAgo: 0 });
    await eventIn(database, "PROCESSED", { minutesAgo: 0 });
    await eventIn(database, "PROCESSED", { minutesAgo: 10 });
    await eventIn(database, "PENDING");
    await eventIn(database, "FAILED");
    const response = await get("/v1/pipeline/stats");
    expect(response.statusCode).toBe(200);
    const body = response.json();
    const { rows } = await sql<Record<string, unknown>>`select * from parley.pipeline_stats`.execute(database.db);
    const view = rows[0]!;
    expect(body).toMatchObject({
      pending: Number(view.pending), processing: 0, processed: 3, failed: Number(view.failed), processed_last_hour: 3,
      latency_seconds: { p50: view.latency_p50_seconds, p95: view.latency_p95_seconds, p99: view.latency_p99_seconds },
    });
    expect(body.pending).toBe(1);
    expect(body.oldest_pending_seconds).toBeGreaterThanOrEqual(0);
    expect(body.throughput).toHaveLength(60);
    const minutes = body.throughput.map((minute: { minute: string }) => Date.parse(minute.minute));
    expect(minutes).toEqual([...minutes].sort((a: number, b: number) => a - b));
    expect(minutes[1] - minutes[0]).toBe(60_000);
    expect(body.throughput.at(-1).processed).toBe(2);
    expect(body.throughput.at(-11).processed).toBe(1);
    expect(body.throughput.reduce((sum: number, minute: { processed: number }) => sum + minute.processed, 0)).toBe(3);
  });
});

describe("GET /v1/events/failed", () => {
  it("groups FAILED events by error_code, the latest failure first, the newest events of each first, per_code of them", async ({ database }) => {
    const older = await eventIn(database, "FAILED", { error_code: "empty_conversation", minutesAgo: 30 });
    const quota = [
      await eventIn(database, "FAILED", { error_code: "quota_exceeded", minutesAgo: 3 }),
      await eventIn(database, "FAILED", { error_code: "quota_exceeded", minutesAgo: 2 }),
      await eventIn(database, "FAILED", { error_code: "quota_exceeded", minutesAgo: 1 }),
    ];
    const response = await get("/v1/events/failed?per_code=2");
    expect(response.statusCode).toBe(200);
    const body = response.json();
    const codes = body.groups.map((group: { error_code: string }) => group.error_code);
    expect(codes.indexOf("quota_exceeded")).toBeLessThan(codes.indexOf("empty_conversation"));
    const group = body.groups.find((candidate: { error_code: string }) => candidate.error_code === "quota_exceeded");
    expect(group.events).toBe(3);
    expect(group.latest.map((event: { event_id: string }) => event.event_id)).toEqual([quota[2], quota[1]]);
    expect(group.latest[0]).toMatchObject({ profile_id: "user_ops", attempt_count: 1, error_details: "details of quota_exceeded" });
    expect(Date.parse(group.last_failed_at)).toBeGreaterThan(Date.parse(group.first_failed_at));
    const empty = body.groups.find((candidate: { error_code: string }) => candidate.error_code === "empty_conversation");
    expect(empty.latest.map((event: { event_id: string }) => event.event_id)).toEqual([older]);
    const { rows } = await database.pool.query("select count(*)::int as n from parley.conversation_events where status = 'FAILED'");
    expect(body.failed).toBe(rows[0].n);
  });

  it.each(["0", "101", "many"])("rejects per_code=%s naming it", async (value) => {
    const response = await get(`/v1/events/failed?per_code=${value}`);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: "invalid_payload", field: "per_code" });
  });
});

describe("GET /v1/users/:profile_id/events", () => {
  it("answers the user's last events, newest first, with results once PROCESSED", async ({ database }) => {
    const profile = "user_events_route";
    const processed = await eventIn(database, "PROCESSED", { profile_id: profile });
    const failed = await eventIn(database, "FAILED", { profile_id: profile, error_code: "embedding_failed" });
    const pending = await eventIn(database, "PENDING", { profile_id: profile });
    await eventIn(database, "PROCESSED", { profile_id: "someone_else" });

    const body = (await get(`/v1/users/${profile}/events?limit=2`)).json();
    expect(body.profile_id).toBe(profile);
    expect(body.events.map((event: { event_id: string }) => event.event_id)).toEqual([pending, failed]);
    expect(body.events[1]).toMatchObject({ status: "FAILED", error_code: "embedding_failed", friendship_score_change: null });

    const all = (await get(`/v1/users/${profile}/events`)).json();
    expect(all.events.map((event: { event_id: string }) => event.event_id)).toEqual([pending, failed, processed]);
    expect(all.events[2]).toMatchObject({
      status: "PROCESSED", friendship_score_change: 1.5, new_friendship_level: "PHASE1_STRANGER", total_turns: 2,
      bot_type: "TALK", bot_id: "talk_movie_preference", bot_name: "Movie Preference Talk", ended_at: "2025-11-25T18:20:00.000Z",
    });
  });

  it("answers an empty list for a user never seen, and 400 for a bad limit", async () => {
    expect((await get("/v1/users/nobody_at_all/events")).json()).toEqual({ profile_id: "nobody_at_all", events: [] });
    expect((await get("/v1/users/u/events?limit=1000")).json()).toMatchObject({ code: "invalid_payload", field: "limit" });
  });
});

describe("the stream cookie", () => {
  const token = async () => {
    const response = await fetch(`${base}/v1/events/stream/token`, { method: "POST", headers: AUTH });
    expect(response.status).toBe(200);
    return { response, cookie: response.headers.get("set-cookie")! };
  };
  /** GET /v1/events/stream with only a Cookie header: its status, and the first bytes when it opened. */
  async function openStream(cookie: string): Promise<{ status: number; start: string }> {
    const controller = new AbortController();
    const response = await fetch(`${base}/v1/events/stream`, { headers: { cookie }, signal: controller.signal });
    try {
      if (response.status !== 200) return { status: response.status, start: await response.text() };
      const reader = response.body!.getReader();
      const { value } = await reader.read();
      return { status: 200, start: new TextDecoder().decode(value) };
    } finally {
      controller.abort();
    }
  }

  it("is issued only to a caller with the key, HttpOnly, SameSite=Strict, for the stream's path, for 60 s", async () => {
    expect((await app.inject({ method: "POST", url: "/v1/events/stream/token" })).statusCode).toBe(401);
    const { response, cookie } = await token();
    expect(cookie).toMatch(/^parley_stream=1\.\d+\.[0-9a-f]{64}; Max-Age=60; Path=\/v1\/events\/stream; Expires=.+; HttpOnly; SameSite=Strict$/);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = (await response.json()) as { expires_at: string };
    expect(Date.parse(body.expires_at) - Date.now()).toBeGreaterThan(50_000);
    expect(Date.parse(body.expires_at) - Date.now()).toBeLessThanOrEqual(60_000);
  });

  it("opens the event stream without the key", async () => {
    const { cookie } = await token();
    const opened = await openStream(cookie.split(";")[0]!);
    expect(opened.status).toBe(200);
    expect(opened.start).toContain("retry: 2000");
  });

  it("keeps a stream it opened open after it expired", async ({ database }) => {
    const config = testConfig();
    // A token issued 58.5 s ago: it expires 1.5 s from now.
    const { token } = issueStreamToken(1, config.api.keyHashes, Date.now() - (STREAM_TOKEN_SECONDS * 1000 - 1500));
    const controller = new AbortController();
    const response = await fetch(`${base}/v1/events/stream`, { headers: { cookie: `parley_stream=${token}` }, signal: controller.signal });
    try {
      expect(response.status).toBe(200);
      const reader = response.body!.getReader();
      let received = "";
      while (!received.includes("event: ready")) received += new TextDecoder().decode((await reader.read()).value);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      expect((await openStream(`parley_stream=${token}`)).status).toBe(401);
      const eventId = await endConversation(database.pool, endPayload({ profile_id: "user_late" }));
      while (!received.includes(`"event_id":"${eventId}"`)) received += new TextDecoder().decode((await reader.read()).value);
    } finally {
      controller.abort();
    }
  });

  it("opens nothing else, and a forged one opens nothing", async () => {
    const { cookie } = await token();
    const pair = cookie.split(";")[0]!;
    expect((await app.inject({ method: "GET", url: "/v1/users/u1/state", headers: { cookie: pair } })).statusCode).toBe(401);
    expect((await app.inject({ method: "GET", url: "/v1/pipeline/stats", headers: { cookie: pair } })).statusCode).toBe(401);
    const forged = pair.replace(/\.(\d+)\./, (_, expires: string) => `.${Number(expires) + 3600}.`);
    const refused = await openStream(forged);
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.start)).toMatchObject({ code: "unauthorized", message: "the API key is not valid" });
  });

  it("with authentication off, is not needed and not set", async ({ database }) => {
    const open = buildApp({ pool: database.pool, log: silentLog, config: testConfig({ PARLEY_API_AUTH: "off", PARLEY_API_KEYS: "" }) });
    try {
      const response = await open.inject({ method: "POST", url: "/v1/events/stream/token" });
      expect(response.statusCode).toBe(200);
      expect(response.headers["set-cookie"]).toBeUndefined();
    } finally {
      await open.close();
    }
  });
});

describe("GET /dashboard", () => {
  it("serves the page without a key, with a strict content security policy", async () => {
    const response = await app.inject({ method: "GET", url: "/dashboard" });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(response.headers["content-security-policy"]).toContain("script-src 'self'");
    expect(response.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(response.headers["x-content-type-options"]).toBe("nosniff");
    expect(response.body).toBe(await readFile(path.join(DASHBOARD_DIR, "index.html"), "utf8"));
  });

  it("serves every file the page and its modules import, as ES modules and CSS", async () => {
    const html = await readFile(path.join(DASHBOARD_DIR, "index.html"), "utf8");
    const files = [...html.matchAll(/(?:src|href)="\/dashboard\/([^"]+)"/g)].map((match) => match[1]!);
    for (const file of files.filter((name) => name.endsWith(".js"))) {
      const text = await readFile(path.join(DASHBOARD_DIR, file), "utf8");
      files.push(...[...text.matchAll(/from "\.\/([^"]+)"/g)].map((match) => match[1]!));
    }
    expect(new Set(files)).toEqual(new Set(["style.css", "app.js", "api.js", "format.js", "view.js"]));
    for (const file of new Set(files)) {
      const response = await app.inject({ method: "GET", url: `/dashboard/${file}` });
      expect(response.statusCode, file).toBe(200);
      expect(response.headers["content-type"], file).toMatch(file.endsWith(".js") ? /^text\/javascript|^application\/javascript/ : /^text\/css/);
    }
  });

  it("serves nothing outside its folder", async () => {
    for (const url of ["/dashboard/../app.ts", "/dashboard/%2e%2e/app.ts", "/dashboard/nothing.js"]) {
      const response = await app.inject({ method: "GET", url });
      expect(response.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(response.body).not.toContain("buildApp");
    }
  });
});

describe("the OpenAPI document", () => {
  it("describes the operator's routes and leaves the page's files out", async () => {
    const document = (await get("/docs/json")).json() as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining([
      "/v1/pipeline/stats", "/v1/events/failed", "/v1/users/{profile_id}/events", "/v1/events/stream/token",
    ]));
    expect(document.paths["/v1/events/stream/token"]).toHaveProperty("post");
    expect(Object.keys(document.paths).filter((route) => route.startsWith("/dashboard"))).toEqual([]);
  });
});

it("the key itself is accepted on the stream as before", async () => {
  const controller = new AbortController();
  const response = await fetch(`${base}/v1/events/stream`, { headers: { authorization: `Bearer ${API_KEY}` }, signal: controller.signal });
  expect(response.status).toBe(200);
  controller.abort();
});
