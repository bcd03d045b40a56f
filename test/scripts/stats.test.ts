import { describe, expect } from "vitest";
import { spawn } from "node:child_process";
import { pino } from "pino";
import { it } from "../support/database.js";
import { conversationPayload, endConversation, testConfig, waitForStatus } from "../support/fixtures.js";
import { startWorker } from "../../src/worker/runner.js";
import { describeDatabase, formatDuration, readStats, renderStats, type StatsSnapshot } from "../../scripts/lib/stats.js";

const at = new Date("2025-11-25T18:00:00Z");
const snapshot: StatsSnapshot = {
  at,
  database: "127.0.0.1:5432/parley",
  totals: {
    pending: 3, processing: 1, processed: 120, failed: 2, oldest_pending_seconds: 75,
    processed_last_hour: 100, latency_p50_seconds: 0.084, latency_p95_seconds: 1.5, latency_p99_seconds: 42,
  },
  recent: { processed_last_minute: 7, processed_last_5_minutes: 30 },
  retries: { waiting: 2, next_retry_at: new Date(at.getTime() + 30_000), by_error_code: [{ error_code: "embedding_failed", count: 2 }] },
  failed: [{ error_code: "empty_conversation", count: 2, last_at: new Date(at.getTime() - 120_000), example: "the conversation has no messages to process" }],
  jobs: { running: 1, due: 2, scheduled: 2 },
  workers: [
    { worker_id: "pool-a", hostname: "vm", pid: 12, started_at: new Date(at.getTime() - 3_600_000), last_seen_at: at, silent_seconds: 2 },
    { worker_id: "pool-b", hostname: "vm", pid: 13, started_at: new Date(at.getTime() - 7_200_000), last_seen_at: at, silent_seconds: 300 },
  ],
};

describe("renderStats", () => {
  it("prints counts, throughput, latency percentiles, retries, failures by code and workers", () => {
    const text = renderStats(snapshot, { staleAfterSeconds: 30 });
    expect(text).toContain("Parley pipeline · 2025-11-25 18:00:00 UTC · 127.0.0.1:5432/parley");
    expect(text).toMatch(/pending\s+processing\s+processed\s+failed\s+oldest unfinished\n\s+3\s+1\s+120\s+2\s+1m 15s/);
    expect(text).toMatch(/last minute\s+last 5 min\s+last hour\s+p50\s+p95\s+p99 \(last hour\)\n\s+7\s+30\s+100\s+84 ms\s+1.50 s\s+42.0 s/);
    expect(text).toContain("Jobs   running 1 · due 2 · scheduled for later 2");
    expect(text).toContain("Retries waiting: 2 (next in 30.0 s), by last error_code");
    expect(text).toMatch(/embedding_failed\s+2/);
    expect(text).toMatch(/empty_conversation\s+2\s+last 2m 00s ago\s+the conversation has no messages to process/);
    expect(text).toContain("Workers: 1 live, 1 silent");
    expect(text).toMatch(/pool-a\s+vm:12\s+up 1h 00m\s+seen 2.00 s ago\s+live/);
    expect(text).toMatch(/pool-b\s+vm:13\s+up 2h 00m\s+seen 5m 00s ago\s+SILENT/);
  });

  it("says so when there is nothing: no retries, no failures, no workers", () => {
    const empty: StatsSnapshot = {
      ...snapshot,
      totals: { ...snapshot.totals, oldest_pending_seconds: null, latency_p50_seconds: null, latency_p95_seconds: null, latency_p99_seconds: null },
      retries: { waiting: 0, next_retry_at: null, by_error_code: [] },
      failed: [],
      workers: [],
    };
    const text = renderStats(empty, { staleAfterSeconds: 30 });
    expect(text).toContain("Retries waiting: none");
    expect(text).toContain("Failed: none");
    expect(text).toContain("no worker has a heartbeat: start one with `npm run worker`");
    expect(text).toMatch(/100\s+—\s+—\s+—/);
  });

  it("formats durations and hides the password of the database URL", () => {
    expect([null, 0.0042, 3.14159, 42.42, 61, 3599, 3600, 90_000].map(formatDuration))
      .toEqual(["—", "4 ms", "3.14 s", "42.4 s", "1m 01s", "59m 59s", "1h 00m", "1d 01h"]);
    expect(describeDatabase("postgres://postgres:secret@db.example:6543/parley")).toBe("db.example:6543/parley");
  });
});

describe("stats from a database", () => {
    it.beforeAll(async ({ database }) => {
    const worker = await startWorker({ config: testConfig(), pool: database.pool, log: pino({ level: "silent" }) });
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await endConversation(database.pool, conversationPayload()));
    for (const id of ids) await waitForStatus(database.db, id, "PROCESSED");
    await worker.stop();
    // One failed for good, one waiting for a retry, one not picked up yet: what a worker leaves behind.
    await database.pool.query(`update parley.conversation_events
      set status = 'FAILED', error_code = 'embedding_failed', error_details = 'embedding_model_not_found: ollama at http://x/api/embed answered 404'
      where event_id = $1`, [ids[0]]);
    await database.pool.query(`update parley.conversation_events
      set status = 'PENDING', attempt_count = 1, error_code = 'embedding_failed', next_attempt_at = now() + interval '5 minutes'
      where event_id = $1`, [ids[1]]);
    await endConversation(database.pool, conversationPayload());
    await database.pool.query("insert into parley.worker_heartbeats (worker_id, hostname, pid) values ('pool-test', 'testhost', 4242)");
  });

  it("readStats reads every section from plain SQL", async ({ database }) => {
    const stats = await readStats(database.pool, "test");
    expect(stats.totals).toMatchObject({ pending: 2, processing: 0, processed: 2, failed: 1, processed_last_hour: 2 });
    expect(stats.totals.latency_p50_seconds).toBeGreaterThanOrEqual(0);
    expect(stats.totals.oldest_pending_seconds).toBeGreaterThanOrEqual(0);
    expect(stats.recent).toEqual({ processed_last_minute: 2, processed_last_5_minutes: 2 });
    expect(stats.retries.waiting).toBe(1);
    expect(stats.retries.by_error_code).toEqual([{ error_code: "embedding_failed", count: 1 }]);
    expect(stats.failed).toMatchObject([{ error_code: "embedding_failed", count: 1, example: expect.stringContaining("embedding_model_not_found") }]);
    expect(stats.jobs.due + stats.jobs.scheduled + stats.jobs.running).toBeGreaterThanOrEqual(1);
    expect(stats.workers).toMatchObject([{ worker_id: "pool-test", hostname: "testhost", pid: 4242 }]);
  });

  it("`npm run stats` prints the report for DATABASE_URL", async ({ database }) => {
    const { code, stdout } = await run(["scripts/stats.ts"], { DATABASE_URL: database.url });
    expect(code).toBe(0);
    expect(stdout).toContain("Parley pipeline");
    expect(stdout).toMatch(/pending\s+processing\s+processed\s+failed/);
    expect(stdout).toContain("Workers: 1 live");
    expect(stdout).toMatch(/embedding_failed\s+1\s+last/);
  });

  it("`--watch` keeps printing fresh reports until stopped", async ({ database }) => {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/stats.ts", "--watch", "--interval", "0.5"], {
      env: { ...process.env, DATABASE_URL: database.url }, stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const frames = () => stdout.split("Parley pipeline").length - 1;
    await new Promise<void>((resolve, reject) => {
      const check = setInterval(() => {
        if (frames() >= 2) {
          clearInterval(check);
          resolve();
        }
      }, 50);
      child.on("exit", () => reject(new Error(`stats --watch exited early: ${stdout}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
  });

  it("names the problem when the database cannot be read", async () => {
    const { code, stdout } = await run(["scripts/stats.ts"], { DATABASE_URL: "postgres://postgres@127.0.0.1:1/none" });
    expect(code).toBe(1);
    expect(stdout).toMatch(/parley stats: cannot read 127\.0\.0\.1:1\/none: .*ECONNREFUSED.*is PostgreSQL running\?/);
  });
});

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}
