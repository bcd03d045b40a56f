// The worker's connections cut with pg_terminate_backend while conversations
// arrive: every acknowledged conversation ends PROCESSED and no event reaches
// friendship_status twice. Real `npm run worker` processes under a small
// supervisor, as in `npm run chaos`: graphile-worker 0.17.3 lets a connection
// lost while it releases a job escape as an unhandled rejection, which ends
// the process (README, "Faults"); the supervisor starts it again and the
// heartbeat sweep releases what it held.
import { closeSync, openSync } from "node:fs";
import { afterAll, beforeAll, expect } from "vitest";
import { WorkerFleet } from "../../scripts/chaos/fleet.js";
import { drive } from "../../scripts/chaos/load.js";
import { ledger, outcome } from "../../scripts/chaos/verify.js";
import { sampleConversations } from "../../scripts/lib/sample-conversations.js";
import { it, type TestDatabase } from "../support/database.js";
import { waitFor } from "../support/fixtures.js";

const WORKERS = 2;
let fleet: WorkerFleet | undefined;
let devNull: number;
beforeAll(async () => {
  devNull = openSync("/dev/null", "w");
});
afterAll(async () => {
  await fleet?.stop();
  closeSync(devNull);
});

const heartbeating = async (database: TestDatabase) => {
  const { rows } = await database.pool.query<{ n: number }>(
    "select count(*)::int as n from parley.worker_heartbeats where pid = any($1) and last_seen_at > now() - interval '5 seconds'",
    [fleet!.pids()]);
  return rows[0]!.n;
};

it("cutting the worker's connections mid-load loses nothing and counts nothing twice", { timeout: 90_000 }, async ({ database }) => {
  fleet = new WorkerFleet({
    script: "src/worker/main.ts",
    size: WORKERS,
    logFd: devNull,
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      PARLEY_EMBEDDER: "hashing",
      PARLEY_RETRY_SCHEDULE: "1s",
      PARLEY_WORKER_STALE_AFTER: "2",
      PARLEY_METRICS_PORT: "0",
      LOG_LEVEL: "silent",
    },
  });
  fleet.start();
  await waitFor(async () => (await heartbeating(database)) >= WORKERS, 30_000, 200);

  const conversations = sampleConversations(200, 7, { users: 20, idPrefix: "cut_", userPrefix: "cut_user_", messages: [4, 6] });
  let loading = true;
  let rounds = 0;
  // At least three rounds that cut something, however slowly this machine runs the load.
  const cutting = (async () => {
    while (loading || rounds < 3) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const { rows } = await database.pool.query<{ n: number }>(`
        select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
        where datname = current_database() and application_name = 'parley-worker'`);
      if (rows[0]!.n > 0) rounds++;
    }
  })();
  const load = await drive({ url: database.url, conversations, ratePerSecond: 40, concurrency: 4 });
  loading = false;
  await cutting;
  expect(load.rejected).toEqual([]);
  expect(load.acknowledged.size).toBe(conversations.length);

  const acknowledged = [...load.acknowledged.keys()];
  const settled = await waitFor(async () => {
    const result = await outcome(database.pool, acknowledged, [], 5);
    return result.missing + result.unfinished === 0 ? result : undefined;
  }, 45_000, 250);
  expect(settled).toEqual({
    acknowledged: conversations.length, processed: conversations.length, failedAsDesigned: 0, failedOtherwise: 0, missing: 0, unfinished: 0,
  });
  expect(await ledger(database.pool)).toEqual({ doubleCounted: 0, scoreMismatches: 0, orphans: 0 });
  // Whatever ended, the fleet is whole again.
  await waitFor(async () => (await heartbeating(database)) >= WORKERS, 20_000, 200);
});
