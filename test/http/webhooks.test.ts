// POST/GET/DELETE /v1/webhooks with fastify's inject() over a real PostgreSQL.
import { afterAll, describe, expect } from "vitest";
import type { FastifyInstance } from "fastify";
import { it } from "../support/database.js";
import { buildApp } from "../../src/http/app.js";
import { AUTH, capturingLogger, testConfig } from "./support.js";

const SECRET = "http-test-secret-3b9d0e1f";
let app: FastifyInstance;
let permissive: FastifyInstance;
const logs = capturingLogger();

it.beforeAll(async ({ database }) => {
  app = buildApp({ pool: database.pool, log: logs.log, config: testConfig() });
  permissive = buildApp({ pool: database.pool, log: logs.log, config: testConfig({ PARLEY_WEBHOOK_ALLOW_PRIVATE: "true" }) });
  await Promise.all([app.ready(), permissive.ready()]);
});
afterAll(async () => {
  await app?.close();
  await permissive?.close();
});

const create = (payload: unknown, on = app) => on.inject({ method: "POST", url: "/v1/webhooks", headers: AUTH, payload: payload as object });
const list = () => app.inject({ method: "GET", url: "/v1/webhooks", headers: AUTH });
const remove = (id: string) => app.inject({ method: "DELETE", url: `/v1/webhooks/${id}`, headers: AUTH });

describe("POST /v1/webhooks", () => {
  it("subscribes, to PROCESSED and FAILED by default, and answers 201 without the secret", async ({ database }) => {
    const response = await create({ url: "https://hooks.example.invalid/parley", secret: SECRET });
    expect(response.statusCode).toBe(201);
    expect(response.body).not.toContain(SECRET);
    const body = response.json();
    expect(body).toEqual({ webhook_id: expect.stringMatching(/^\d+$/), url: "https://hooks.example.invalid/parley", events: ["PROCESSED", "FAILED"], created_at: expect.any(String) });
    const { rows } = await database.pool.query("select secret, events from parley.webhooks where webhook_id = $1", [body.webhook_id]);
    expect(rows).toEqual([{ secret: SECRET, events: ["PROCESSED", "FAILED"] }]);
  });

  it("subscribes to the statuses asked for", async () => {
    const response = await create({ url: "https://failures.example.invalid/", secret: SECRET, events: ["FAILED"] });
    expect(response.statusCode).toBe(201);
    expect(response.json().events).toEqual(["FAILED"]);
  });

  it.for([
    [{ url: "https://example.invalid/" }, "secret", "secret: is required"],
    [{ url: "https://example.invalid/", secret: "short-secret" }, "secret", "secret: must be at least 16 characters long"],
    [{ url: "https://example.invalid/", secret: 1234567890123456789 }, "secret", "secret: must be a string, got number"],
    [{ secret: SECRET }, "url", "url: is required"],
    [{ url: "ftp://example.invalid/", secret: SECRET }, "url", "url: must be an absolute URL starting with https:// or http://"],
    [{ url: "https://example.invalid/", secret: SECRET, events: ["DONE"] }, "events[0]", "events[0]: must be one of PROCESSED, FAILED (got DONE)"],
    [{ url: "https://example.invalid/", secret: SECRET, events: [] }, "events", "events: must list at least one of PROCESSED, FAILED"],
    [{ url: "https://example.invalid/", secret: SECRET, active: true }, "active", "active: is not a known field"],
    // Only SQL judges these; it answers with the same code and field.
    [{ url: "https://user:password@example.invalid/", secret: SECRET }, "url", "url: must not contain credentials"],
    [{ url: "https://example.invalid:99999/", secret: SECRET }, "url", "url: port 99999 is out of range 1-65535"],
  ] as Array<[Record<string, unknown>, string, string]>)("rejects %j: 400 invalid_payload naming %s, nothing stored", async ([payload, field, message], { database }) => {
    const before = await database.pool.query("select count(*)::int as n from parley.webhooks");
    const response = await create(payload);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: "invalid_payload", field });
    expect(response.json().message.startsWith(message)).toBe(true);
    expect(response.body).not.toContain(SECRET);
    expect((await database.pool.query("select count(*)::int as n from parley.webhooks")).rows).toEqual(before.rows);
  });

  it.each([
    ["http://127.0.0.1:8080/hooks", "127.0.0.1, a loopback address"],
    ["http://[::1]/hooks", "::1, a loopback address"],
    ["http://10.1.2.3/hooks", "10.1.2.3, a private address"],
    ["http://169.254.169.254/latest/meta-data", "169.254.169.254, a linkLocal address"],
    ["http://localhost:8080/hooks", "localhost resolves to"],
  ])("refuses %s, a non-public receiver, unless PARLEY_WEBHOOK_ALLOW_PRIVATE=true", async (url, reason) => {
    const refused = await create({ url, secret: SECRET });
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ code: "invalid_payload", field: "url" });
    expect(refused.json().message).toContain(reason);
    expect(refused.json().message).toContain("PARLEY_WEBHOOK_ALLOW_PRIVATE=true");

    const allowed = await create({ url, secret: SECRET }, permissive);
    expect(allowed.statusCode).toBe(201);
    expect((await remove(allowed.json().webhook_id)).statusCode).toBe(200);
  });
});

describe("GET /v1/webhooks", () => {
  it("lists every subscription, never a secret", async () => {
    const created = (await create({ url: "https://listed.example.invalid/", secret: `${SECRET}-listed` })).json();
    const response = await list();
    expect(response.statusCode).toBe(200);
    expect(response.body).not.toContain(SECRET);
    const { webhooks } = response.json() as { webhooks: Array<Record<string, unknown>> };
    expect(webhooks).toContainEqual(created);
    for (const webhook of webhooks) expect(Object.keys(webhook).sort()).toEqual(["created_at", "events", "url", "webhook_id"]);
  });
});

describe("DELETE /v1/webhooks/:webhook_id", () => {
  it("removes a subscription; again, or an unknown one, is 404 webhook_not_found", async () => {
    const { webhook_id: id } = (await create({ url: "https://removed.example.invalid/", secret: SECRET })).json();
    const response = await remove(id);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ webhook_id: id, removed: true });
    expect((await list()).json().webhooks.map((webhook: { webhook_id: string }) => webhook.webhook_id)).not.toContain(id);
    const again = await remove(id);
    expect(again.statusCode).toBe(404);
    expect(again.json()).toEqual({ code: "webhook_not_found", message: `no webhook ${id}`, field: "webhook_id" });
  });

  it("answers 400 for an id that is not one", async () => {
    const response = await remove("abc");
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: "invalid_payload", field: "webhook_id" });
  });
});

describe("around the routes", () => {
  it("every webhook route needs the API key", async () => {
    for (const [method, url] of [["POST", "/v1/webhooks"], ["GET", "/v1/webhooks"], ["DELETE", "/v1/webhooks/1"]] as const) {
      const response = await app.inject({ method, url, ...(method === "POST" ? { payload: { url: "https://x.invalid/", secret: SECRET } } : {}) });
      expect(response.statusCode, `${method} ${url}`).toBe(401);
    }
  });

  it("the OpenAPI document has the routes, a write-only secret and a Webhook without one", async () => {
    const document = (await app.inject({ method: "GET", url: "/docs/json", headers: AUTH })).json();
    expect(Object.keys(document.paths["/v1/webhooks"]).sort()).toEqual(["get", "post"]);
    expect(Object.keys(document.paths["/v1/webhooks/{webhook_id}"])).toEqual(["delete"]);
    expect(document.components.schemas.AddWebhook.properties.secret.writeOnly).toBe(true);
    expect(Object.keys(document.components.schemas.Webhook.properties).sort()).toEqual(["created_at", "events", "url", "webhook_id"]);
  });

  it("no secret in any log line of these requests", () => {
    expect(logs.lines.some((line) => line.includes("/v1/webhooks"))).toBe(true);
    expect(logs.lines.filter((line) => line.includes(SECRET))).toEqual([]);
  });
});
