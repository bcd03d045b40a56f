// Builds and runs graphile-worker with Parley's tasks and cron jobs. Jobs
// arrive through LISTEN/NOTIFY; graphile-worker's polling is the fallback.
import { EventEmitter } from "node:events";
import { randomBytes } from "node:crypto";
import os from "node:os";
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
import { cachedCatalog } from "./catalog.js";
import { Drainer, WorkerStoppingError } from "./drainer.js";
import type { ProcessingContext } from "./process-batch.js";
import { startHeartbeat } from "./heartbeat.js";
import { deliverWebhookTask } from "./deliver-webhook.js";
import { topicPrototypes } from "./topic-prototypes.js";
import { applyRetentionTask, RETENTION_CRON } from "./apply-retention.js";

/** The task behind every event's job (sql/_queue_event.sql, parley._job_spec, names it too). */
export const PROCESS_TASK = "process_conversation";

export const CRONTAB = [
  "* * * * * reconcile_events ?max=1",
  "* * * * * close_idle_conversations ?max=1",
  "*/10 * * * * prune_event_changes ?max=1",
  RETENTION_CRON,
].join("\n");

/** Changes pruned per statement: each call is one short transaction. */
const PRUNE_BATCH = 10_000;

const processPayload = z.object({ event_id: z.union([z.number().int(), z.string().regex(/^\d+$/)]) });

export interface WorkerOptions {
  config: Config;
  pool: pg.Pool;
  log: Logger;
  /** Replaces the configured embedder (tests use one that fails or stalls). */
  embedder?: Embedder;
  onOutcome?: ProcessingContext["onOutcome"];
  onBatch?: ProcessingContext["onBatch"];
  /** Called after each reconciler run that re-queued stranded events, for metrics. */
  onRequeue?: (count: number) => void;
  pollInterval?: number;
}

export interface RunningWorker {
  db: Db;
  embedder: CachedEmbedder;
  /** This process's worker id: its heartbeat row, and the owner of the events it claims. */
  workerId: Promise<string>;
  /** Resolves once the worker LISTENs for new jobs. */
  listening: Promise<void>;
  stop(): Promise<void>;
}

export function buildTaskList(
  context: ProcessingContext & { db: Db },
  drainer: Drainer,
  settings: { idleTimeoutSeconds: number; changeRetentionSeconds: number; messageRetention?: string | undefined; webhooks: Config["webhooks"] },
  hooks: { onRequeue?: ((count: number) => void) | undefined } = {},
): TaskList {
  return {
    apply_retention: applyRetentionTask(context.db, context.log, settings.messageRetention),
    [PROCESS_TASK]: async (payload) => {
      const { event_id } = processPayload.parse(payload);
      await drainer.want(String(event_id));
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
        select parley.close_idle_conversations(make_interval(secs => ${settings.idleTimeoutSeconds})) as closed`.execute(context.db);
      const closed = rows[0]?.closed ?? 0;
      if (closed > 0) context.log.info({ closed }, "closed idle conversations");
    },
    prune_event_changes: async () => {
      let pruned = 0;
      for (;;) {
        const { rows } = await sql<{ pruned: string }>`
          select parley.prune_event_changes(make_interval(secs => ${settings.changeRetentionSeconds}), ${PRUNE_BATCH}) as pruned`.execute(context.db);
        const count = Number(rows[0]?.pruned ?? 0);
        pruned += count;
        if (count < PRUNE_BATCH) break;
      }
      if (pruned > 0) context.log.info({ pruned }, "pruned the change stream's old entries");
    },
    deliver_webhook: deliverWebhookTask({ db: context.db, log: context.log, settings: settings.webhooks }),
  };
}

/** Everything processing needs, built once per process. */
export function createProcessingContext(options: {
  config: Config;
  pool: pg.Pool;
  log: Logger;
  workerId?: string;
  embedder?: Embedder;
  onOutcome?: ProcessingContext["onOutcome"];
  onBatch?: ProcessingContext["onBatch"];
}): ProcessingContext & { embedder: CachedEmbedder; db: Db } {
  const { config, pool } = options;
  const db = createDb(pool);
  const inner = options.embedder ?? createEmbedder(config.embedder, config.embedding);
  // A vector that costs less to compute than to fetch is not worth a table row.
  const embedder = new CachedEmbedder(inner, inner.cheap ? {} : { store: postgresEmbeddingStore(db) });
  return {
    pool,
    db,
    workerId: options.workerId ?? newWorkerId(),
    embedder,
    prototypes: topicPrototypes(embedder),
    catalog: cachedCatalog(db),
    retryPolicy: config.retryPolicy,
    scoreWeights: config.scoreWeights,
    levelThresholds: config.levelThresholds,
    batchSize: config.batchSize,
    leaseSeconds: config.claimLeaseSeconds,
    log: options.log,
    ...(options.onOutcome ? { onOutcome: options.onOutcome } : {}),
    ...(options.onBatch ? { onBatch: options.onBatch } : {}),
  };
}

/** host:pid:random, readable in parley.worker_heartbeats and conversation_events.claimed_by. */
export function newWorkerId(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
}

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { config, pool, log } = options;
  const context = createProcessingContext({
    config, pool, log,
    ...(options.embedder ? { embedder: options.embedder } : {}),
    ...(options.onOutcome ? { onOutcome: options.onOutcome } : {}),
    ...(options.onBatch ? { onBatch: options.onBatch } : {}),
  });
  const { db, embedder, workerId } = context;
  const drainer = new Drainer(context, { loops: config.batchesInFlight });
  // Load the model and embed the topic prototypes now, not on the first event.
  context.prototypes().catch((error: unknown) => log.error({ err: error }, "embedder failed to warm up"));

  let resolveListening!: () => void;
  const listening = new Promise<void>((resolve) => (resolveListening = resolve));
  let stopping = false;
  const stopped = new AbortController();
  let current: { runner: Runner; poolId: string | undefined } | undefined;
  let restarting: Promise<void> | undefined;
  const heartbeat = startHeartbeat(db, workerId, () => current?.poolId, log, { staleAfterSeconds: config.workerStaleAfterSeconds });
  const taskList = buildTaskList(context, drainer, {
    idleTimeoutSeconds: config.idleTimeoutSeconds,
    changeRetentionSeconds: config.changeRetentionSeconds,
    messageRetention: config.messageRetention,
    webhooks: config.webhooks,
  }, { onRequeue: options.onRequeue });

  // One graphile-worker pool. It restarts when the database went away under it.
  async function startPool(): Promise<void> {
    const started: { runner: Runner | undefined; poolId: string | undefined } = { runner: undefined, poolId: undefined };
    // pool:create fires inside run(): listen on our own emitter before starting.
    const events: WorkerEvents = new EventEmitter();
    events.on("pool:create", ({ workerPool }) => {
      started.poolId = workerPool.id;
    });
    events.on("pool:listen:success", () => resolveListening());
    events.on("pool:gracefulShutdown", ({ workerPool, message }) => {
      if (stopping) return;
      // graphile-worker stops a pool that cannot record a job's completion
      // (the database went away). A pool whose jobs hang must not hold the
      // process forever: force it after a while.
      log.error({ worker_id: workerId, pool_id: workerPool.id, reason: message }, "worker pool is shutting down unexpectedly");
      setTimeout(() => void workerPool.forcefulShutdown("did not stop within 30 s"), 30_000).unref();
    });

    const runner = await run({
      pgPool: pool,
      concurrency: config.concurrency,
      pollInterval: options.pollInterval ?? 2000,
      noHandleSignals: true,
      taskList,
      crontab: CRONTAB,
      logger: graphileLogger(log),
      events,
      // Complete jobs in batches (graphile-worker's documented throughput
      // setting). It also turns a connection lost while completing a job into
      // a pool shutdown, where graphile-worker 0.17.3 would otherwise crash
      // the process with an unhandled rejection; the restart below recovers.
      // Its localQueue is left off: returning jobs over a dead connection in
      // 0.17.3 is another unhandled rejection, and the drainer already claims
      // events in batches without fetching their jobs.
      preset: {
        worker: {
          completeJobBatchDelay: 0,
          failJobBatchDelay: 0,
        },
      },
    });
    current = { runner, poolId: started.poolId };
    runner.promise.then(() => undefined, (error: unknown) => error).then(async (error) => {
      if (stopping) return;
      const poolId = started.poolId;
      log.error({ err: error, worker_id: workerId, pool_id: poolId }, "worker pool stopped; releasing its jobs and starting a new one");
      restarting = restartPool(poolId);
    });
  }

  async function restartPool(deadPoolId: string | undefined): Promise<void> {
    for (let attempt = 0; !stopping; attempt++) {
      await sleep(Math.min(1000, 250 * 2 ** attempt), undefined, { signal: stopped.signal }).catch(() => {});
      if (stopping) return;
      try {
        // Nothing runs in that pool any more: its jobs can go at once rather
        // than after PARLEY_WORKER_STALE_AFTER.
        if (deadPoolId) await sql`select graphile_worker.force_unlock_workers(${[deadPoolId]}::text[])`.execute(db);
        await startPool();
        log.info({ attempt: attempt + 1, worker_id: workerId, pool_id: current?.poolId }, "worker pool restarted");
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
    workerId: Promise.resolve(workerId),
    listening,
    async stop() {
      stopping = true;
      stopped.abort();
      await restarting;
      await Promise.all([drainer.stop(), current?.runner.stop().catch(() => {})]);
      await heartbeat.stop();
    },
  };
}

function graphileLogger(log: Logger): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) => {
    const child = log.child({ graphile: scope.label ?? "worker", ...(scope.jobId ? { job_id: scope.jobId } : {}) });
    const fields = meta ?? {};
    // A job handed back because this worker stops is retried by another one: not an error.
    if (level === "error" && message.includes(WorkerStoppingError.name)) child.info(fields, message);
    else if (level === "error") child.error(fields, message);
    else if (level === "warning") child.warn(fields, message);
    // graphile-worker logs every job at info; Parley logs its own outcome.
    else if (level === "info") child.debug(fields, message);
    else child.debug(fields, message);
  });
}
