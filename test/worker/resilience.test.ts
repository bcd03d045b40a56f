// A worker keeps going by itself when its database connections are cut:
// graphile-worker stops a pool that cannot complete a job, and Parley starts
// a new one and releases the old one's jobs.
import { expect, onTestFinished } from "vitest";
import { pino } from "pino";
import { it, type TestDatabase } from "../support/worker.js";
import { conversationPayload, endConversation, testConfig, waitFor } from "../support/fixtures.js";
import { createPool } from "../../src/db/pool.js";
import { workerConnections } from "../../src/worker/runner.js";


async function cutWorkerConnections(database: TestDatabase): Promise<number> {
  const { rows } = await database.pool.query(
    `select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
     where datname = current_database() and application_name = 'parley-worker-under-test'`);
  return rows[0].n;
}

it("a worker whose connections are cut mid-load recovers by itself and loses nothing", { timeout: 90_000 }, async ({ database, startWorker }) => {
  // A pool of its own, whose connections this test cuts; closed once the worker has stopped.
  const pool = createPool(database.url, workerConnections(testConfig()), "parley-worker-under-test");
  onTestFinished(() => pool.end());
  // The worker's warnings, kept to explain a failure.
  const lines: string[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
  await startWorker({ env: { PARLEY_RETRY_SCHEDULE: "1s" }, pool, pollInterval: 500, log });

  const eventIds: string[] = [];
  let cut = 0;
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 25; i++) eventIds.push(await endConversation(database.pool, conversationPayload()));
    // A round may find the pool between connections (restarting): count them all.
    cut += await cutWorkerConnections(database);
  }
  expect(cut).toBeGreaterThan(0);
  for (let i = 0; i < 25; i++) eventIds.push(await endConversation(database.pool, conversationPayload()));

  await waitFor(async () => {
    const { rows } = await database.pool.query(
      "select count(*)::int as n from parley.conversation_events where status = 'PROCESSED' and event_id = any($1::bigint[])", [eventIds]);
    return rows[0].n === eventIds.length;
  }, 75_000, 250).catch(async (error: unknown) => {
    // Say where the rest stand: that is what a failure here needs explained.
    const { rows } = await database.pool.query(
      `select status, attempt_count, error_code, claimed_by is not null as claimed, next_attempt_at > now() as leased, count(*)::int as n
       from parley.conversation_events where status <> 'PROCESSED' and event_id = any($1::bigint[])
       group by 1, 2, 3, 4, 5 order by n desc`, [eventIds]);
    const logged = lines.filter((line) => !line.includes('"msg":"batch processed"')).slice(-30).join("");
    throw new Error(`not all PROCESSED: ${JSON.stringify(rows)}\nthe worker's last log lines:\n${logged}`, { cause: error });
  });
  const { rows } = await database.pool.query(
    "select count(*)::int as n, sum(conversation_count)::int as applied from parley.friendship_status");
  expect(rows[0].applied).toBe(eventIds.length);
});
