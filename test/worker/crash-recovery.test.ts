// A worker process killed with SIGKILL mid-job: another worker must finish
// its event within 60 s, not after graphile-worker's 4-hour lock timeout.
import { expect } from "vitest";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { it } from "../support/worker.js";
import { conversationPayload, endConversation, eventRow, waitForStatus } from "../support/fixtures.js";

it("a worker killed with SIGKILL mid-job has its event PROCESSED by another worker within 60 s", { timeout: 120_000 }, async ({ database, startWorker }) => {
  const doomed = spawn("npx", ["tsx", "test/fixtures/stalling-worker.ts"], {
    detached: true,
    env: { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: "silent", PARLEY_EMBEDDER: "hashing" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const [ready] = await once(doomed.stdout!, "data");
    expect(String(ready)).toMatch(/^ready [^:\s]+:\d+:[0-9a-f]+\n$/);

    const eventId = await endConversation(database.pool, conversationPayload());
    const held = await waitForStatus(database.db, eventId, "PROCESSING", 15_000);
    expect(held.attempt_count).toBe(1);

    // npx runs tsx runs node: kill the whole process group, as a crash would.
    process.kill(-doomed.pid!, "SIGKILL");
  } catch (error) {
    process.kill(-doomed.pid!, "SIGKILL");
    throw error;
  }
  const killedAt = Date.now();

  await startWorker({ noWait: true });
  const { rows } = await database.pool.query<{ event_id: string }>("select event_id from parley.conversation_events");
  const eventId = rows[0]!.event_id;
  await waitForStatus(database.db, eventId, "PROCESSED", 60_000);
  const recoverySeconds = (Date.now() - killedAt) / 1000;
  expect(recoverySeconds).toBeLessThan(60);
  expect((await eventRow(database.db, eventId)).attempt_count).toBe(2);
});
