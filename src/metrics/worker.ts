// Starts the worker with the configured embedder and every metrics hook wired: what
// `npm run worker` and `npm start` both run.
import type pg from "pg";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import { createEmbedder } from "../pipeline/embed/index.js";
import type { Embedder } from "../pipeline/embed/embedder.js";
import { RemoteEmbedder, ProviderError } from "../pipeline/embed/remote.js";
import { startWorker, type RunningWorker } from "../worker/runner.js";
import type { ParleyMetrics } from "./registry.js";

export async function startInstrumentedWorker(options: {
  config: Config;
  pool: pg.Pool;
  log: Logger;
  metrics: ParleyMetrics;
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
