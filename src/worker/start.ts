// Starts the worker with the configured embedder and the process's instruments wired: what
// `npm run worker` and `npm start` both run. The instruments are handed in (the process's
// metrics, src/metrics/registry.ts), so that the worker does not depend on who watches it.
import type pg from "pg";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import { createEmbedder } from "../embed/index.js";
import type { Embedder } from "../embed/embedder.js";
import { RemoteEmbedder, ProviderError } from "../embed/remote.js";
import { startWorker, type RunningWorker, type WorkerOptions } from "./runner.js";

/** What watches a running worker: its outcomes, batches, re-queues, webhook attempts and embedding calls. */
export interface WorkerInstruments {
  /** The worker's `onOutcome` hook. */
  recordOutcome: NonNullable<WorkerOptions["onOutcome"]>;
  /** The worker's `onBatch` hook. */
  recordBatch: NonNullable<WorkerOptions["onBatch"]>;
  /** The worker's `onRequeue` hook. */
  recordRequeue: NonNullable<WorkerOptions["onRequeue"]>;
  /** The worker's `onWebhookAttempt` hook. */
  recordWebhookAttempt: NonNullable<WorkerOptions["onWebhookAttempt"]>;
  /** The provider, timed into parley_embedding_seconds; wrapped inside the cache so that only real calls are timed. */
  timeEmbedder(embedder: Embedder): Embedder;
  /** Reads the embedding cache's hit and miss counts on each scrape (CachedEmbedder.stats()). */
  trackEmbeddingCache(source: { stats(): { hits: number; misses: number } }): void;
}

export async function startInstrumentedWorker(options: {
  config: Config;
  pool: pg.Pool;
  log: Logger;
  metrics: WorkerInstruments;
  /** Replaces the configured embedder (tests). */
  embedder?: Embedder;
  /** Stops the wait for an unreachable embedding provider (shutdown during start-up). */
  signal?: AbortSignal;
}): Promise<RunningWorker> {
  const { config, pool, log, metrics } = options;
  const embedder = options.embedder ?? createEmbedder(config.embedder, config.embedding);
  if (embedder instanceof RemoteEmbedder) await waitForDimension(embedder, log, options.signal);
  const worker = await startWorker({
    config,
    pool,
    log,
    embedder: metrics.timeEmbedder(embedder),
    onOutcome: metrics.recordOutcome,
    onBatch: metrics.recordBatch,
    onRequeue: metrics.recordRequeue,
    onWebhookAttempt: metrics.recordWebhookAttempt,
  });
  metrics.trackEmbeddingCache(worker.embedder);
  return worker;
}

/**
 * A remote model of unknown size is asked once before the worker starts: the pipeline needs the
 * dimension to average message vectors. While the provider is unreachable this waits (jobs stay
 * queued, no attempt is spent); a misconfiguration (wrong key, unknown model) stops start-up.
 */
export async function waitForDimension(embedder: RemoteEmbedder, log: Logger, signal?: AbortSignal, maxDelayMs = 30_000): Promise<void> {
  for (let attempt = 0; embedder.dimension === 0; attempt++) {
    signal?.throwIfAborted();
    try {
      const dimension = await embedder.resolveDimension();
      log.info({ model: embedder.model, dimension }, "learned the embedding dimension from the provider");
    } catch (error) {
      if (!(error instanceof ProviderError) || !error.retryable) throw error;
      const delayMs = Math.min(maxDelayMs, 1000 * 2 ** attempt);
      log.warn({ model: embedder.model, err: error.message, retry_in_ms: delayMs }, "embedding provider not ready; the worker starts once it answers");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
      });
    }
  }
}
