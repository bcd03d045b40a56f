// The memory-queue design's app process: it acknowledges a conversation as
// soon as it is in an in-memory array (the "< 5 ms" write), flushes the array
// to the database in batches every flushMs, then processes what it flushed.
// Whatever is acknowledged but not flushed dies with the process. Started by
// memory-queue.ts, which talks to it over IPC.
import { createPool } from "../../../src/db/pool.js";
import type { Payload } from "../payloads.js";
import { insertConversations } from "./plain-sql.js";
import { createProcessor } from "./processing.js";

export interface QueueStart {
  type: "start";
  url: string;
  flushMs: number;
  maxBatch: number;
  concurrency: number;
  embedder: "hashing" | "local";
}
export interface QueueWrite {
  type: "write";
  seq: number;
  payload: Payload;
}
export type QueueReply = { type: "ready" } | { type: "ack"; seq: number };

process.once("message", (start: QueueStart) => {
  const pool = createPool(start.url, start.concurrency + 2, "parley-bench-memory-queue");
  const processor = createProcessor(pool, start.embedder);
  const queue: Array<{ payload: Payload; acceptedAt: Date }> = [];
  const toProcess: string[] = [];
  let lanes = 0;

  process.on("message", (message: QueueWrite) => {
    if (message.type !== "write") return;
    queue.push({ payload: message.payload, acceptedAt: new Date() });
    process.send?.({ type: "ack", seq: message.seq } satisfies QueueReply);
  });

  const drain = () => {
    while (lanes < start.concurrency && toProcess.length > 0) {
      lanes += 1;
      const eventId = toProcess.shift()!;
      void processor.process(eventId)
        .catch((error: unknown) => process.stderr.write(`process ${eventId} failed: ${String(error)}\n`))
        .finally(() => {
          lanes -= 1;
          drain();
        });
    }
  };

  // Empty flushes send nothing: the design costs the database nothing while idle.
  const flush = async () => {
    while (queue.length > 0) {
      const batch = queue.splice(0, start.maxBatch);
      const eventIds = await insertConversations(pool, batch.map((item) => item.payload), batch.map((item) => item.acceptedAt));
      toProcess.push(...eventIds);
      drain();
    }
  };

  const recover = async () => {
    // On start, rows an earlier process flushed but never processed.
    const { rows } = await pool.query<{ event_id: string }>(
      "select event_id from parley.conversation_events where status in ('PENDING', 'PROCESSING') order by event_id");
    toProcess.push(...rows.map((row) => row.event_id));
    drain();
  };

  let flushing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    flushing = flushing.then(flush).catch((error: unknown) => {
      process.stderr.write(`flush failed: ${String(error)}\n`);
    });
  }, start.flushMs);

  void recover().then(() => process.send?.({ type: "ready" } satisfies QueueReply));

  process.once("SIGTERM", () => {
    clearInterval(timer);
    void flushing.then(flush).then(async () => {
      while (lanes > 0 || toProcess.length > 0) await new Promise((resolve) => setTimeout(resolve, 20));
      await processor.close();
      await pool.end();
      process.exit(0);
    });
  });
});
