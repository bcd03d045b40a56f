// Builds and runs graphile-worker with Parley's tasks and cron jobs. Jobs
// arrive through LISTEN/NOTIFY; graphile-worker's polling is the fallback.
import { EventEmitter } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { Logger as GraphileLogger, run, type Runner, type TaskList, type WorkerEvents } from "graphile-worker";
import { sql } from "kysely";
import { z } from "zod";
import type pg from "pg";
import type { Config } from "../config.js";
import { createDb, type Db } from "../db/pool.js";
import { postgresEmbeddingStore } from "../db/embedding-store.js";
import type { Logger } from "../log.js";
import { CachedEmbedder } from "../pipeline/embed/cache.js";
import { createEmbedder } from "../pipeline/embed/index.js";
import type { Embedder } from "../pipeline/embed/embedder.js";
import { cachedCatalog, processConversation, type ProcessingContext } from "./process-conversation.js";
import { startHeartbeat } from "./heartbeat.js";
import { topicPrototypes } from "./topic-prototypes.js";

export const CRONTAB = [
  "* * * * * reconcile_events ?max=1",
  "* * * * * close_idle_conversations ?max=1",
].join("\n");

const processPayload = z.object({ event_id: z.union([z.number().int(), z.string().regex(/^\d+$/)]) });

export interface WorkerOptions {
  config: Config;
  pool: pg.Pool;
  log: Logger;
  /** Replaces the configured embedder (tests use one that fails or stalls). */
  embedder?: Embedder;
  onOutcome?: ProcessingContext["onOutcome"];
  /** Called after each reconciler run that re-queued stranded events, for metrics. */
  onRequeue?: (count: number) => void;
  pollInterval?: number;
}

export interface RunningWorker {
  db: Db;
  embedder: CachedEmbedder;
  /** The first pool's id; a pool restarted after a database outage gets a new one. */
  workerId: Promise<string>;
  /** Resolves once the worker LISTENs for new jobs. */
  listening: Promise<void>;
  stop(): Promise<void>;
}

export function buildTaskList(
  context: ProcessingContext,
  idleTimeoutSeconds: number,
  hooks: { onRequeue?: ((count: number) => void) | undefined } = {},
): TaskList {
  return {
    process_conversation: async (payload) => {
      const { event_id } = processPayload.parse(payload);
      await processConversation(String(event_id), context);
    },
    reconcile_events: async () => {
      const { rows } = await sql<{ requeued: number }>`select parley.requeue_stranded_events() as requeued`.execute(context.db);
      const requeued = rows[0]?.requeued ?? 0;
      if (requeued > 0) {
        context.log.warn({ requeued }, "re-queued events that had no live job");
        hooks.onRequeue?.(requeued);
      }
    },
    close_idle_conversations: async () => {
      const { rows } = await sql<{ closed: number }>`
        select parley.close_idle_conversations(make_interval(secs => ${idleTimeoutSeconds})) as closed`.execute(context.db);
      const closed = rows[0]?.closed ?? 0;
      if (closed > 0) context.log.info({ closed }, "closed idle conversations");
    },
  };
}

/** Everything the process_conversation task needs, built once per process. */
export function createProcessingContext(options: {
  config: Config;
  db: Db;
  log: Logger;
  embedder?: Embedder;
  onOutcome?: ProcessingContext["onOutcome"];
}): ProcessingContext & { embedder: CachedEmbedder } {
  const { config, db } = options;
  const inner = options.embedder ?? createEmbedder(config.embedder, config.embedding);
  // A vector that costs less to compute than to fetch is not worth a table row.
  const embedder = new CachedEmbedder(inner, inner.cheap ? {} : { store: postgresEmbeddingStore(db) });
  return {
    db,
    embedder,
    prototypes: topicPrototypes(embedder),
    catalog: cachedCatalog(db),
    retryPolicy: config.retryPolicy,
    scoreWeights: config.scoreWeights,
    levelThresholds: config.levelThresholds,
    log: options.log,
    ...(options.onOutcome ? { onOutcome: options.onOutcome } : {}),
  };
}

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { config, pool, log } = options;
  const db = createDb(pool);
  const context = createProcessingContext({
    config, db, log,
    ...(options.embedder ? { embedder: options.embedder } : {}),
    ...(options.onOutcome ? { onOutcome: options.onOutcome } : {}),
  });
  const embedder = context.embedder;
  // Load the model and embed the topic prototypes now, not on the first event.
  context.prototypes().catch((error: unknown) => log.error({ err: error }, "embedder failed to warm up"));

  let resolveWorkerId!: (id: string) => void;
  const workerId = new Promise<string>((resolve) => (resolveWorkerId = resolve));
  let resolveListening!: () => void;
  const listening = new Promise<void>((resolve) => (resolveListening = resolve));
  let stopping = false;
  const stopped = new AbortController();
  let current: { runner: Runner; stopHeartbeat: () => Promise<void> } | undefined;
  let restarting: Promise<void> | undefined;

  // One graphile-worker pool. Its id is the lock holder of its jobs, so each
  // pool heartbeats under its own id.
  async function startPool(): Promise<void> {
    let heartbeat: ReturnType<typeof startHeartbeat> | undefined;
    let poolId: string | undefined;
    // pool:create fires inside run(): listen on our own emitter before starting.
    const events: WorkerEvents = new EventEmitter();
    events.on("pool:create", ({ workerPool }) => {
      poolId = workerPool.id;
      resolveWorkerId(workerPool.id);
      heartbeat = startHeartbeat(db, workerPool.id, log, { staleAfterSeconds: config.workerStaleAfterSeconds });
    });
    events.on("pool:listen:success", () => resolveListening());
    events.on("pool:gracefulShutdown", ({ workerPool, message }) => {
      if (stopping) return;
      // graphile-worker stops a pool that cannot record a job's completion
      // (the database went away). A pool whose jobs hang must not hold the
      // process forever: force it after a while.
      log.error({ worker_id: workerPool.id, reason: message }, "worker pool is shutting down unexpectedly");
      setTimeout(() => void workerPool.forcefulShutdown("did not stop within 30 s"), 30_000).unref();
    });

    const runner = await run({
      pgPool: pool,
      concurrency: config.concurrency,
      pollInterval: options.pollInterval ?? 2000,
      noHandleSignals: true,
      taskList: buildTaskList(context, config.idleTimeoutSeconds, { onRequeue: options.onRequeue }),
      crontab: CRONTAB,
      logger: graphileLogger(log),
      events,
      // Complete jobs in batches (graphile-worker's documented throughput
      // setting). It also turns a connection lost while completing a job into
      // a pool shutdown, where graphile-worker 0.17.3 would otherwise crash
      // the process with an unhandled rejection; the release below and the
      // heartbeat sweep recover the jobs such a pool held. Its localQueue is
      // left off: returning jobs over a dead connection in 0.17.3 is another
      // unhandled rejection.
      preset: {
        worker: {
          completeJobBatchDelay: 0,
          failJobBatchDelay: 0,
        },
      },
    });
    const stopHeartbeat = async () => {
      await heartbeat?.stop();
    };
    current = { runner, stopHeartbeat };
    runner.promise.then(() => undefined, (error: unknown) => error).then(async (error) => {
      await stopHeartbeat();
      if (stopping) return;
      log.error({ err: error, worker_id: poolId }, "worker pool stopped; releasing its jobs and starting a new one");
      if (poolId) {
        // Nothing runs in that pool any more: its jobs can go now rather than
        // after PARLEY_WORKER_STALE_AFTER. If the database is still away, the
        // heartbeat sweep of whichever worker comes back releases them.
        await sql`select graphile_worker.force_unlock_workers(${[poolId]}::text[])`.execute(db).catch(() => {});
      }
      restarting = restartPool();
    });
  }

  async function restartPool(): Promise<void> {
    for (let attempt = 0; !stopping; attempt++) {
      await sleep(Math.min(30_000, 500 * 2 ** attempt), undefined, { signal: stopped.signal }).catch(() => {});
      if (stopping) return;
      try {
        await startPool();
        log.info({ attempt: attempt + 1 }, "worker pool restarted");
        return;
      } catch (error) {
        log.warn({ err: error, attempt: attempt + 1 }, "worker pool could not start yet; retrying");
      }
    }
  }

  await startPool();
  return {
    db,
    embedder,
    workerId,
    listening,
    async stop() {
      stopping = true;
      stopped.abort();
      await restarting;
      await current?.runner.stop().catch(() => {});
      await current?.stopHeartbeat();
    },
  };
}

function graphileLogger(log: Logger): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) => {
    const child = log.child({ graphile: scope.label ?? "worker", ...(scope.jobId ? { job_id: scope.jobId } : {}) });
    const fields = meta ?? {};
    if (level === "error") child.error(fields, message);
    else if (level === "warning") child.warn(fields, message);
    // graphile-worker logs every job at info; Parley logs its own outcome.
    else if (level === "info") child.debug(fields, message);
    else child.debug(fields, message);
  });
}
