// The baselines process conversations with Parley's own processing code
// (the same claim, embedder, cache, scoring and apply), built the way
// src/worker/runner.ts builds it, one conversation at a time as each design
// hands it over. Only how a conversation reaches the processing differs
// between designs, which is what the bench compares.
import type pg from "pg";
import { pino } from "pino";
import { parseConfig } from "../../../src/config.js";
import { processDueEvents } from "../../../src/worker/process-batch.js";
import { createProcessingContext } from "../../../src/worker/runner.js";

export interface Processor {
  process(eventId: string): Promise<void>;
  close(): Promise<void>;
}

export function createProcessor(pool: pg.Pool, embedderName: "hashing" | "local"): Processor {
  // A batch of one: the claim takes the conversation asked for and nothing else.
  const config = parseConfig({ PARLEY_EMBEDDER: embedderName, PARLEY_BATCH_SIZE: "1" });
  const context = createProcessingContext({ config, pool, log: pino({ level: "silent" }) });
  return {
    async process(eventId) {
      // An earlier conversation of the same user being processed right now
      // (these designs process several at once) holds this one back: wait for
      // it, as Parley's own worker does, rather than leave this one behind.
      for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
        const { blocked } = await processDueEvents(context, [eventId]);
        if (!blocked.includes(eventId)) return;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
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
