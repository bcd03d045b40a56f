// The baselines process conversations with Parley's own task code
// (processConversation, same embedder, same cache, same scoring), built the
// way src/worker/runner.ts builds it. Only how a conversation reaches the
// processing differs between designs, which is what the bench compares.
import type pg from "pg";
import { pino } from "pino";
import { parseConfig } from "../../../src/config.js";
import { createDb } from "../../../src/db/pool.js";
import { processConversation } from "../../../src/worker/process-conversation.js";
import { createProcessingContext } from "../../../src/worker/runner.js";

export interface Processor {
  process(eventId: string): Promise<void>;
  close(): Promise<void>;
}

export function createProcessor(pool: pg.Pool, embedderName: "hashing" | "local"): Processor {
  const config = parseConfig({ PARLEY_EMBEDDER: embedderName });
  const context = createProcessingContext({ config, db: createDb(pool), log: pino({ level: "silent" }) });
  return {
    async process(eventId) {
      await processConversation(eventId, context);
    },
    close: () => context.embedder.close(),
  };
}

/** Runs `work` over `items` with at most `concurrency` at once. */
export async function eachLimited<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  });
  await Promise.all(lanes);
}
