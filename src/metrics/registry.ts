// Prometheus metrics of one Parley process (worker, API, or both in `npm start`): one registry,
// fed by the worker's hooks and, on each scrape, by two cheap SQL counts.

import { performance } from "node:perf_hooks";
import type pg from "pg";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type CollectFunction } from "prom-client";
import type { Embedder } from "../embed/embedder.js";
import { OUTCOME_MEANINGS, OUTCOMES } from "../worker/process-batch.js";
import { WEBHOOK_OUTCOME_MEANINGS, WEBHOOK_OUTCOMES } from "../worker/deliver-webhook.js";
import type { WorkerInstruments } from "../worker/start.js";
import type { Logger } from "../log.js";

export type MetricsOptions = {
  /** Node's default process metrics (CPU, memory, event loop lag, GC). Default true. */
  defaultMetrics?: boolean;
  /** Longest a scrape waits for the queue counts; past it the gauges are left out of that scrape. Default 2000. */
  queryTimeoutMs?: number;
  log?: Logger;
} & (
  | { pool?: undefined }
  | {
      /** Where the queue gauges are counted on each scrape; without it they are left out. */
      pool: pg.Pool;
      /** A worker silent for longer is not counted in parley_workers_live (PARLEY_WORKER_STALE_AFTER). */
      workerStaleAfterSeconds: number;
    }
);

/** The process's metrics: its registry, and the instruments a worker reports to. */
export interface ParleyMetrics extends WorkerInstruments {
  registry: Registry;
}

/** "a, b (what b means), c": a counter's outcomes for its help text. */
function outcomeList(meanings: Record<string, string>): string {
  return Object.entries(meanings).map(([outcome, meaning]) => (meaning ? `${outcome} (${meaning})` : outcome)).join(", ");
}

const SECONDS_FAST = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
// Commit to PROCESSED spans a fast first attempt (milliseconds) to retries hours later.
const SECONDS_END_TO_END = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 21600];

export function createMetrics(options: MetricsOptions = {}): ParleyMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  // Every metric below is registered in this one registry.
  const counter = <L extends string = never>(
    name: string, help: string, more: { labelNames?: readonly L[]; collect?: CollectFunction<Counter<L>> } = {},
  ) => new Counter<L>({ name, help, registers: [registry], ...more });
  const histogram = <L extends string = never>(name: string, help: string, more: { buckets: number[]; labelNames?: readonly L[] }) =>
    new Histogram<L>({ name, help, registers: [registry], ...more });

  const processed = counter("parley_events_processed_total",
    `Events a worker handled, by outcome: ${outcomeList(OUTCOME_MEANINGS)}.`, { labelNames: ["status"] });
  // Present from the first scrape, so rate() and alerts see zeros rather than no series.
  for (const status of OUTCOMES) processed.inc({ status }, 0);

  const processingSeconds = histogram("parley_event_processing_seconds", "Worker time per processing attempt: its batch's time (claim to commit) shared among the batch's events.", { buckets: SECONDS_FAST });
  const batchEvents = histogram("parley_batch_events", "Events per batch a worker claimed and processed together.", { buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] });
  const batchSeconds = histogram("parley_batch_seconds", "Time a worker spent on one batch, claim to commit.", { buckets: SECONDS_FAST });
  const endToEndSeconds = histogram("parley_event_end_to_end_seconds", "From the end_conversation commit to PROCESSED, retries included.", { buckets: SECONDS_END_TO_END });
  const requeued = counter("parley_reconciler_requeued_total", "Unfinished events the reconciler found without a live job and queued again.");
  const webhookAttempts = counter("parley_webhook_deliveries_total",
    `Webhook delivery attempts by outcome: ${outcomeList(WEBHOOK_OUTCOME_MEANINGS)}.`, { labelNames: ["outcome"] });
  for (const outcome of WEBHOOK_OUTCOMES) webhookAttempts.inc({ outcome }, 0);
  const webhookAttemptSeconds = histogram("parley_webhook_attempt_seconds", "Duration of each webhook delivery attempt's HTTP request (resolving, connecting, up to the status line), failures and timeouts included.", { buckets: SECONDS_FAST });
  const embeddingErrors = counter("parley_embedding_errors_total", "Calls to the embedding provider that failed (timeouts, refusals, bad answers).", { labelNames: ["model"] });
  const embeddingSeconds = histogram("parley_embedding_seconds", "Duration of each call to the embedding provider (cache misses only), failures included.", { buckets: SECONDS_FAST, labelNames: ["model"] });

  const caches: Array<{ source: { stats(): { hits: number; misses: number } }; hits: number; misses: number }> = [];
  // Counters only go up: each scrape adds what the caches counted since the last one.
  const drainCaches = (kind: "hits" | "misses") => {
    let delta = 0;
    for (const cache of caches) {
      const now = cache.source.stats()[kind];
      delta += now - cache[kind];
      cache[kind] = now;
    }
    return delta;
  };
  counter("parley_embedding_cache_hits_total", "Texts whose embedding came from memory or parley.embedding_cache.", {
    collect() {
      this.inc(drainCaches("hits"));
    },
  });
  counter("parley_embedding_cache_misses_total", "Texts sent to the embedding provider.", {
    collect() {
      this.inc(drainCaches("misses"));
    },
  });

  if (options.pool !== undefined) registerQueueGauges(registry, options.pool, options.workerStaleAfterSeconds, options);

  return {
    registry,
    recordOutcome(outcome, handlerSeconds, endToEnd) {
      processed.inc({ status: outcome });
      processingSeconds.observe(handlerSeconds);
      if (endToEnd !== null) endToEndSeconds.observe(Math.max(0, endToEnd));
    },
    recordBatch(events, seconds) {
      batchEvents.observe(events);
      batchSeconds.observe(seconds);
    },
    recordRequeue(count) {
      if (count > 0) requeued.inc(count);
    },
    recordWebhookAttempt(outcome, seconds) {
      webhookAttempts.inc({ outcome });
      webhookAttemptSeconds.observe(seconds);
    },
    timeEmbedder(embedder) {
      const histogram = embeddingSeconds.labels({ model: embedder.model });
      const errors = embeddingErrors.labels({ model: embedder.model });
      errors.inc(0);
      const timed: Embedder = {
        get model() {
          return embedder.model;
        },
        get dimension() {
          return embedder.dimension;
        },
        // Whether the worker skips the cache table must survive the wrapping.
        get cheap() {
          return embedder.cheap;
        },
        async embed(texts) {
          const started = performance.now();
          try {
            return await embedder.embed(texts);
          } catch (error) {
            errors.inc();
            throw error;
          } finally {
            histogram.observe((performance.now() - started) / 1000);
          }
        },
        close: async () => embedder.close?.(),
      };
      return timed;
    },
    trackEmbeddingCache(source) {
      // From zero: what the cache counted before it was tracked is counted too.
      caches.push({ source, hits: 0, misses: 0 });
    },
  };
}

/**
 * What an operator alerts on, read on each scrape from parley.pipeline_stats and the heartbeats.
 * Only the view's columns read here are computed (PostgreSQL drops the others' subqueries), each
 * from its partial index (conversation_events_unfinished, conversation_events_failed,
 * webhook_deliveries_pending), so the cost grows with the backlog and the failures, not with the
 * table. The gauges share one query.
 */
function registerQueueGauges(registry: Registry, pool: pg.Pool, staleAfter: number, options: MetricsOptions) {
  const timeoutMs = options.queryTimeoutMs ?? 2000;
  let current: Promise<QueueCounts | undefined> | undefined;
  const counts = () => {
    current ??= queueCounts(pool, timeoutMs, staleAfter)
      .catch((error: unknown) => {
        options.log?.warn({ err: error }, "metrics: could not count the queue; leaving the queue gauges out of this scrape");
        return undefined;
      })
      .finally(() => setTimeout(() => (current = undefined), 500).unref());
    return current;
  };
  const gauge = (name: string, help: string, pick: (counts: QueueCounts) => number, unknown = Number.NaN) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const found = await counts();
        // NaN (Prometheus' "unknown") rather than a stale number that looks healthy.
        this.set(found === undefined ? unknown : pick(found));
      },
    });
  gauge("parley_events_pending", "Events not finished yet: PENDING or PROCESSING (retries waiting included).", (c) => c.pending);
  gauge("parley_events_failed", "Events that failed for good (status FAILED) and wait for parley.retry_event.", (c) => c.failed);
  gauge("parley_oldest_pending_seconds", "Age of the oldest event PENDING or PROCESSING (retries waiting included); 0 when there is none.", (c) => c.oldest_pending_seconds);
  gauge("parley_database_up", "1 when this scrape could count the queue in PostgreSQL, else 0 (the queue gauges are then NaN).", () => 1, 0);
  gauge("parley_workers_live", "Worker processes whose heartbeat is recent (parley.worker_heartbeats).", (c) => c.workers);
  gauge("parley_webhook_deliveries_pending", "Webhook deliveries not finished yet: their latest attempt PENDING (due, on the wire, or waiting for a retry).", (c) => c.webhook_deliveries_pending);
}

interface QueueCounts {
  pending: number;
  failed: number;
  oldest_pending_seconds: number;
  workers: number;
  webhook_deliveries_pending: number;
}

export const QUEUE_COUNTS_SQL = `
  select
    (pending + processing)::float8 as pending,
    failed::float8 as failed,
    coalesce(oldest_pending_seconds, 0) as oldest_pending_seconds,
    (select count(*) from parley.worker_heartbeats where last_seen_at > now() - make_interval(secs => $1))::float8 as workers,
    webhook_deliveries_pending::float8 as webhook_deliveries_pending
  from parley.pipeline_stats`;

async function queueCounts(pool: pg.Pool, timeoutMs: number, staleAfterSeconds: number): Promise<QueueCounts> {
  let timer: NodeJS.Timeout | undefined;
  // A scrape must not hang on an unreachable database: pg has no connect timeout by default.
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`queue counts took longer than ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const query = pool.query<QueueCounts>({ name: "parley_metrics_queue_counts", text: QUEUE_COUNTS_SQL, values: [staleAfterSeconds] });
    query.catch(() => {});
    const { rows } = await Promise.race([query, timeout]);
    return rows[0]!;
  } finally {
    clearTimeout(timer);
  }
}
