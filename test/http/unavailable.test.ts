// A database outage answers 503 database_unavailable with Retry-After, fast,
// never a hang or a 500 stack: PostgreSQL refusing connections (nothing on the
// port) and PostgreSQL not answering at all (a socket that accepts and stays
// silent, which only the pool's timeouts end).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import net from "node:net";
import pg from "pg";
import type { FastifyInstance } from "fastify";
import { createApiPool } from "../../src/http/pool.js";
import { AUTH, endPayload, testApp } from "./support.js";

const requests: Array<[string, string, unknown?]> = [
  ["POST", "/v1/conversations/end", endPayload()],
  ["POST", "/v1/conversations", { profile_id: "u", bot_type: "TALK", bot_id: "b" }],
  ["POST", "/v1/conversations/c1/messages", { messages: [{ role: "user", content: "hi" }] }],
  ["POST", "/v1/conversations/c1/close"],
  ["GET", "/v1/conversations/c1"],
  ["GET", "/v1/users/u1/state"],
  ["POST", "/v1/events/1/retry"],
  ["GET", "/v1/events/stream"],
];

function expectUnavailable(app: FastifyInstance) {
  return Promise.all(requests.map(async ([method, url, payload]) => {
    const response = await app.inject({ method: method as "GET", url, headers: AUTH, ...(payload ? { payload: payload as object } : {}) });
    expect(response.statusCode, `${method} ${url}`).toBe(503);
    expect(response.headers["retry-after"]).toBe("5");
    expect(response.json()).toMatchObject({ code: "database_unavailable" });
    expect(response.body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|at .*\.js/);
  }));
}

describe("PostgreSQL refusing connections", () => {
  const pool = new pg.Pool({ connectionString: "postgres://postgres@127.0.0.1:1/postgres", connectionTimeoutMillis: 2000 });
  pool.on("error", () => {});
  const app = testApp(pool);
  afterAll(async () => {
    await app.close();
    await pool.end();
  });

  it("answers 503 with Retry-After on every route that needs the database", () => expectUnavailable(app));

  it("says so on /health with 503", async () => {
    const response = await app.inject({ method: "GET", url: "/health" });
    expect(response.statusCode).toBe(503);
    expect(response.headers["retry-after"]).toBe("5");
    expect(response.json()).toMatchObject({ status: "unavailable", database: { reachable: false }, queue: null });
  });
});

describe("PostgreSQL accepting connections and never answering", () => {
  let silent: net.Server;
  const sockets = new Set<net.Socket>();
  let pool: pg.Pool;
  let app: FastifyInstance;
  beforeAll(async () => {
    silent = net.createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as net.AddressInfo;
    // The API's own pool, with its own timeouts.
    pool = createApiPool(`postgres://postgres@127.0.0.1:${port}/postgres`);
    app = testApp(pool);
  });
  afterAll(async () => {
    await app?.close();
    await pool?.end();
    for (const socket of sockets) socket.destroy();
    silent?.close();
  });

  it("answers 503 once the connection timeout passes, instead of hanging", () => expectUnavailable(app), 15_000);
});
