// The polling design's worker process: a cron that looks for PENDING rows
// every interval and processes what it finds (and rows a dead poller left
// PROCESSING, as a careful cron does). Started by polling.ts; told its
// database and settings over IPC.
import { createPool } from "../../../src/db/pool.js";
import { createProcessor, eachLimited } from "./processing.js";

export interface PollerStart {
  type: "start";
  url: string;
  intervalMs: number;
  concurrency: number;
  embedder: "hashing" | "local";
  /** A PROCESSING row whose attempt started longer ago than this is taken again (its poller died). */
  staleAfterSeconds: number;
}

const BATCH = 500;

process.once("message", (message: PollerStart) => {
  const pool = createPool(message.url, message.concurrency + 2, "parley-bench-poller");
  const processor = createProcessor(pool, message.embedder);
  let stopping = false;
  let running: Promise<void> = Promise.resolve();

  const tick = async () => {
    for (;;) {
      const { rows } = await pool.query<{ event_id: string }>({
        name: "poll_pending",
        text: `select event_id from parley.conversation_events
               where (status = 'PENDING' and next_attempt_at <= now())
                  or (status = 'PROCESSING' and last_attempt_at < now() - make_interval(secs => $1))
               order by event_id limit ${BATCH}`,
        values: [message.staleAfterSeconds],
      });
      await eachLimited(rows, message.concurrency, (row) => processor.process(row.event_id));
      if (rows.length < BATCH || stopping) return;
    }
  };
  // Fixed rate, like cron: a slow tick delays the next one, never doubles up.
  const started = performance.now();
  let ticks = 0;
  const schedule = () => {
    if (stopping) return;
    ticks += 1;
    const due = started + ticks * message.intervalMs;
    setTimeout(() => {
      running = tick().catch((error: unknown) => process.stderr.write(`poll failed: ${String(error)}\n`)).then(schedule);
    }, Math.max(0, due - performance.now()));
  };
  schedule();
  process.send?.({ type: "ready" });

  process.once("SIGTERM", () => {
    stopping = true;
    void running.then(() => processor.close()).then(() => pool.end()).then(() => process.exit(0));
  });
});
