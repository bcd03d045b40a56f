// `npm start` as a user runs it: its own process, a real socket, signals.
import { afterAll, beforeAll, describe, expect } from "vitest";
import { chmod, mkdtemp, rm, stat, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { it } from "../support/database.js";
import { conversationPayload, unusedPort, waitFor } from "../support/fixtures.js";
import { start, type Child } from "./run.js";

const KEY = "start-test-key-0123456789";

function runningLine(child: Child) {
  return child.waitForLine(/Parley is running/).then((line) => JSON.parse(line) as { api: string; metrics: string; worker_id: string });
}

describe("npm start with DATABASE_URL", () => {

  it("migrates, serves the API and runs the worker in one process, with metrics on both ports; stops cleanly on SIGTERM", async ({ database }) => {
    const metricsPort = await unusedPort();
    const child = start("src/main.ts", [], {
      DATABASE_URL: database.url, PORT: "0", PARLEY_METRICS_PORT: String(metricsPort),
      PARLEY_EMBEDDER: "hashing", PARLEY_API_KEYS: KEY, LOG_LEVEL: "info",
    });
    try {
      const running = await runningLine(child);
      expect(running.metrics).toBe(`http://127.0.0.1:${metricsPort}/metrics`);
      const auth = { authorization: `Bearer ${KEY}` };
      const payload = conversationPayload();
      const accepted = await fetch(`${running.api}/v1/conversations/end`, {
        method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify(payload),
      });
      expect(accepted.status).toBe(202);
      await waitFor(async () => {
        const response = await fetch(`${running.api}/v1/conversations/${payload.conversation_id}`, { headers: auth });
        return ((await response.json()) as { event?: { status: string } }).event?.status === "PROCESSED";
      }, 30_000);
      // The same registry behind the API's /metrics (with the key) and the worker's port (without).
      const fromApi = await (await fetch(`${running.api}/metrics`, { headers: auth })).text();
      expect(fromApi).toMatch(/^parley_events_processed_total\{status="processed"\} 1$/m);
      expect(fromApi).toMatch(/^parley_http_requests_total\{method="POST",route="\/v1\/conversations\/end",status_code="202"\} 1$/m);
      const fromPort = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(fromPort).toMatch(/^parley_events_processed_total\{status="processed"\} 1$/m);
      expect(fromPort).toMatch(/^parley_events_pending 0$/m);
      expect((await fetch(`${running.api}/metrics`)).status).toBe(401);
    } finally {
      child.process.kill("SIGTERM");
    }
    expect(await child.exited).toBe(0);
    expect(child.stdout()).toMatch(/"msg":"stopped"/);
    // The worker said goodbye: its heartbeat row is gone.
    const { rows } = await database.pool.query("select count(*)::int as n from parley.worker_heartbeats");
    expect(rows[0].n).toBe(0);
  });

  it("stops with one line naming the problem when the database cannot be reached", async () => {
    const child = start("src/main.ts", [], {
      DATABASE_URL: `postgres://postgres@127.0.0.1:${await unusedPort()}/postgres`, PORT: "0", PARLEY_METRICS_PORT: "0", PARLEY_API_KEYS: KEY,
    });
    expect(await child.exited).toBe(1);
    expect(child.stdout()).toMatch(/"level":60.*could not start: .*ECONNREFUSED/);
  });
});

describe("npm start with no DATABASE_URL", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "parley-start-"));
    // As root, the embedded server runs as its own user, which must reach the data directory.
    await chmod(dir, 0o755);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("starts an embedded PostgreSQL under .data/, says so first with the connection string, keeps data and key between runs", async ({ database }) => {
    const port = await unusedPort();
    const url = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
    const env = { DATABASE_URL: "", PARLEY_API_KEYS: "", PARLEY_EMBEDDED_PORT: String(port), PORT: "0", PARLEY_METRICS_PORT: "0", PARLEY_EMBEDDER: "hashing" };

    // Its own process group, signalled as a whole below, as Ctrl-C in a terminal does.
    const first = start("src/main.ts", [], env, dir, { detached: true });
    let api: string;
    try {
      api = (await runningLine(first)).api;
      const firstLine = JSON.parse(first.stdout().split("\n")[0]!) as { msg: string; database_url: string };
      expect(firstLine.database_url).toBe(url);
      expect(firstLine.msg).toContain(`no DATABASE_URL: starting an embedded PostgreSQL at ${url}`);
      expect(firstLine.msg).toContain(`psql ${url}`);

      // psql works with the logged connection string, and the schema is there.
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query("select count(*)::int as n from parley.agent_catalog");
      expect(rows[0].n).toBeGreaterThan(0);
      await client.query("create table public.kept_between_runs (x int)");
      await client.end();

      // No keys configured: the API accepts the one kept in .data/api-key, and only that.
      const keyFile = path.join(dir, ".data", "api-key");
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
      const key = (await readFile(keyFile, "utf8")).trim();
      expect((await fetch(`${api}/v1/users/u1/state`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
      expect((await fetch(`${api}/v1/users/u1/state`)).status).toBe(401);
      // The dashboard loads without the key (it asks for it).
      const dashboard = await fetch(`${api}/dashboard`);
      expect(dashboard.status).toBe(200);
      expect(await dashboard.text()).toContain('<script type="module" src="/dashboard/app.js">');
    } finally {
      process.kill(-first.process.pid!, "SIGINT");
    }
    expect(await first.exited).toBe(0);
    // It says that it is stopping, what it finished, and that it stopped; nothing went wrong on
    // the way (the embedded server, in its own group, stopped last, after the connections closed).
    const lines = first.stdout().split("\n").filter(Boolean).map((line) => JSON.parse(line) as { level: number; msg: string });
    const stopping = lines.findIndex((line) => line.msg.startsWith("stopping (SIGINT)"));
    expect(lines.slice(stopping).map((line) => line.msg)).toEqual([
      "stopping (SIGINT); Ctrl-C again exits at once",
      "worker: finished the jobs in hand and removed its heartbeat",
      "http api: answered the open requests and closed the event streams",
      "database pools: closed their connections",
      "embedded postgres: shut down, its data kept in .data/postgres",
      "stopped",
    ]);
    expect(lines.filter((line) => line.level >= 40)).toEqual([]);
    expect(first.stderr()).toBe("");
    // The embedded server stopped with it.
    await expect(new pg.Client({ connectionString: url }).connect()).rejects.toThrow(/ECONNREFUSED/);

    const second = start("src/main.ts", [], env, dir);
    try {
      api = (await runningLine(second)).api;
      expect(second.stdout()).toContain("schema up to date");
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query("select * from public.kept_between_runs");
      await client.end();
      const key = (await readFile(path.join(dir, ".data", "api-key"), "utf8")).trim();
      expect((await fetch(`${api}/v1/users/u1/state`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    } finally {
      second.process.kill("SIGTERM");
    }
    expect(await second.exited).toBe(0);
  }, 120_000);
});
