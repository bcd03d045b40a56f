import { afterAll, describe, expect } from "vitest";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { it } from "../support/database.js";
import { testConfig, unusedPort } from "../support/fixtures.js";
import { buildApp } from "../../src/http/app.js";
import { createMetrics } from "../../src/metrics/registry.js";
import { startInstrumentedWorker } from "../../src/worker/start.js";
import type { RunningWorker } from "../../src/worker/runner.js";
import { percentiles, pickUsers, progressBar, renderReport, type DemoReport } from "../../scripts/lib/demo-report.js";
import { start } from "./run.js";

describe("demo report helpers", () => {
  it("percentiles are nearest-rank, from unsorted values; none without values", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentiles(values, [0.5, 0.95, 0.99, 1])).toEqual([50, 95, 99, 100]);
    expect(percentiles([7], [0.5, 0.99])).toEqual([7, 7]);
    expect(percentiles([], [0.5])).toEqual([null]);
  });

  it("draws a progress bar, clamped", () => {
    expect(progressBar(0, 10, 10)).toBe("[░░░░░░░░░░]   0%");
    expect(progressBar(5, 10, 10)).toBe("[█████░░░░░]  50%");
    expect(progressBar(12, 10, 10)).toBe("[██████████] 100%");
    expect(progressBar(0, 0, 4)).toBe("[████] 100%");
  });

  it("picks the busiest user, one from the middle and one who came once", () => {
    const counts = new Map([["a", 1], ["b", 9], ["c", 4], ["d", 2], ["e", 1]]);
    expect(pickUsers(counts)).toEqual(["b", "d", "e"]);
    expect(pickUsers(new Map([["only", 3]]))).toEqual(["only"]);
  });

  it("renders statuses, latency percentiles, levels, users and what was not processed", () => {
    const report: DemoReport = {
      seed: 42, url: "http://127.0.0.1:3000", sent: 4, sendSeconds: 2, waitSeconds: 0.5,
      statuses: { PROCESSED: 3, FAILED: 1 },
      serverLatencies: [0.1, 0.2, 0.3], streamLatencies: [0.15, 0.25, 0.35],
      levels: { PHASE1_STRANGER: 1, PHASE3_FRIEND: 1 },
      users: [{ profile_id: "u1", conversations_in_run: 3, friendship_level: "PHASE3_FRIEND", friendship_score: 61.25, top_topics: ["movies"], greeting: "Old Friend Check-in", talk: ["Book Club"], game: [] }],
      failures: [{ conversation_id: "c4", error_code: "embedding_failed", error_details: "embedding_timeout: ..." }],
    };
    const text = renderReport(report);
    expect(text).toContain("Sent 4 conversations to http://127.0.0.1:3000 in 2.00 s (2/s); all settled 500 ms later.");
    expect(text).toContain("npm run demo -- --seed 42");
    expect(text).toMatch(/PROCESSED\s+3\n\s+FAILED\s+1/);
    expect(text).toMatch(/commit to PROCESSED \(server, n=3\)\s+200 ms\s+300 ms\s+300 ms/);
    expect(text).toMatch(/202 to PROCESSED on SSE \(client, n=3\)\s+250 ms\s+350 ms\s+350 ms/);
    expect(text).toMatch(/PHASE1_STRANGER\s+1\n\s+PHASE2_ACQUAINTANCE\s+0\n\s+PHASE3_FRIEND\s+1/);
    expect(text).toContain("u1: PHASE3_FRIEND, score 61.3, 3 conversation(s) in this run");
    expect(text).toMatch(/games\s+—/);
    expect(text).toContain("c4: embedding_failed embedding_timeout: ...");
  });
});

describe("npm run demo against a running API and worker", () => {
  const KEY = "demo-test-key-0123456789";
  let app: FastifyInstance;
  let worker: RunningWorker;
  let url: string;

  it.beforeAll(async ({ database }) => {
    const config = testConfig({ PARLEY_API_KEYS: KEY });
    const log = pino({ level: "silent" });
    const metrics = createMetrics({ pool: database.pool, workerStaleAfterSeconds: 30, defaultMetrics: false });
    app = buildApp({ pool: database.pool, log, config, metricsRegistry: metrics.registry });
    url = await app.listen({ port: 0, host: "127.0.0.1" });
    worker = await startInstrumentedWorker({ config, pool: database.pool, log, metrics });
  });
  afterAll(async () => {
    await worker?.stop();
    await app?.close();
  });

  it("sends the sample conversations, waits for them on the event stream and prints what happened", async ({ database }) => {
    const demo = start("scripts/demo.ts", ["--count", "24", "--seed", "5"], { PARLEY_URL: url, PARLEY_API_KEY: KEY });
    expect(await demo.exited).toBe(0);
    const out = demo.stdout();
    expect(out).toContain(`Sent 24 conversations to ${url}`);
    expect(out).toMatch(/PROCESSED\s+24/);
    expect(out).toMatch(/commit to PROCESSED \(server, n=24\)/);
    expect(out).toMatch(/202 to PROCESSED on SSE \(client, n=\d+\)/);
    expect(out).toMatch(/Friendship levels of the run's \d+ users/);
    expect(out).toMatch(/demo_5_user_\d+: PHASE\d_[A-Z]+, score/);
    expect(out).toMatch(/talk\s+\S/);
    expect(demo.stderr()).toMatch(/sending .*24\/24/);

    const { rows } = await database.pool.query("select count(*)::int as n from parley.conversation_events where conversation_id like 'demo_5_%' and status = 'PROCESSED'");
    expect(rows[0].n).toBe(24);
  });

  it("sending the same seed again writes nothing new and still reports them processed", async ({ database }) => {
    const before = await database.pool.query("select count(*)::int as n from parley.conversations");
    const demo = start("scripts/demo.ts", ["--count", "24", "--seed", "5"], { PARLEY_URL: url, PARLEY_API_KEY: KEY });
    expect(await demo.exited).toBe(0);
    expect(demo.stdout()).toMatch(/PROCESSED\s+24/);
    const after = await database.pool.query("select count(*)::int as n from parley.conversations");
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it("names the problem: a wrong key, a server that is not running, a bad flag", async () => {
    const wrongKey = start("scripts/demo.ts", ["--count", "2"], { PARLEY_URL: url, PARLEY_API_KEY: "not-the-key-0123456789" });
    expect(await wrongKey.exited).toBe(1);
    expect(wrongKey.stderr()).toContain("parley demo: the API refused the key (401): set PARLEY_API_KEY");

    const port = await unusedPort();
    const down = start("scripts/demo.ts", ["--count", "2"], { PARLEY_URL: `http://127.0.0.1:${port}`, PARLEY_API_KEY: KEY });
    expect(await down.exited).toBe(1);
    expect(down.stderr()).toContain(`parley demo: cannot reach Parley at http://127.0.0.1:${port} (ECONNREFUSED): start it with \`npm start\``);

    const badFlag = start("scripts/demo.ts", ["--count", "many"], { PARLEY_URL: url, PARLEY_API_KEY: KEY });
    expect(await badFlag.exited).toBe(1);
    expect(badFlag.stderr()).toContain('parley demo: --count: must be a positive integer, got "many"');
  });
});
