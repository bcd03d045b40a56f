// Builds and runs graphile-worker with Parley's tasks and cron jobs. Jobs
// arrive through LISTEN/NOTIFY; graphile-worker's polling is the fallback.
import { randomBytes } from "node:crypto";
import os from "node:os";
import { Logger as GraphileLogger, type TaskList } from "graphile-worker";
import { sql } from "kysely";
import { z } from "zod";
import type pg from "pg";
import type { Config } from "../config.js";
import { createDb, type Db } from "../db/pool.js";
import { postgresEmbeddingStore } from "../db/embedding-store.js";
import type { Logger } from "../log.js";
import { CachedEmbedder } from "../embed/cache.js";
import { createEmbedder } from "../embed/index.js";
import type { Embedder } from "../embed/embedder.js";
import { cachedCatalog } from "./catalog.js";
import { Drainer, WorkerStoppingError } from "./drainer.js";
import type { ProcessingContext } from "./process-batch.js";
import { startHeartbeat } from "./heartbeat.js";
import { supervisedPool } from "./supervised-pool.js";
import { deliverWebhookTask, type DeliverWebhookContext } from "./deliver-webhook.js";
import { topicPrototypes } from "./topic-prototypes.js";
import { applyRetentionTask, RETENTION_CRON } from "./apply-retention.js";

/** The task behind every event's job (sql/_queue_event.sql, parley._job_spec, names it too). */
export const PROCESS_TASK = "process_conversation";
/** The task behind every webhook delivery's job (parley._webhook_delivery_job names it too). */
export const DELIVER_WEBHOOK_TASK = "deliver_webhook";

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
  /** Called after each webhook delivery attempt, for metrics. */
  onWebhookAttempt?: DeliverWebhookContext["onAttempt"];
  pollInterval?: number;
}

export interface RunningWorker {
  db: Db;
  embedder: CachedEmbedder;
  /** This process's worker id: its heartbeat row, and the owner of the events it claims. */
  workerId: Promise<string>;
  /** Resolves once both pools (processing, webhooks) LISTEN for new jobs. */
  listening: Promise<void>;
  stop(): Promise<void>;
}

export function buildTaskList(
  context: ProcessingContext & { db: Db },
  drainer: Drainer,
  settings: { idleTimeoutSeconds: number; changeRetentionSeconds: number; messageRetention?: string | undefined },
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
      const { rows: deliveries } = await sql<{ requeued: number }>`
        select parley.requeue_stranded_webhook_deliveries() as requeued`.execute(context.db);
      const requeuedDeliveries = deliveries[0]?.requeued ?? 0;
      if (requeuedDeliveries > 0) context.log.warn({ requeued: requeuedDeliveries }, "re-queued webhook deliveries that had no live job");
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
  };
}

/**
 * The webhook pool's only task. Deliveries run in a graphile-worker pool of
 * their own (PARLEY_WEBHOOK_CONCURRENCY): a receiver that hangs until the
 * timeout holds a delivery slot, never one of the PARLEY_CONCURRENCY slots
 * that process conversations, and the processing pool never takes a delivery.
 */
export function buildWebhookTaskList(
  context: { db: Db; log: Logger },
  settings: Config["webhooks"],
  hooks: { onAttempt?: DeliverWebhookContext["onAttempt"] } = {},
): TaskList {
  return { [DELIVER_WEBHOOK_TASK]: deliverWebhookTask({ db: context.db, log: context.log, settings, onAttempt: hooks.onAttempt }) };
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

/**
 * Connections a worker process can use at once: a job slot of each pool (processing, webhooks),
 * each pool's LISTEN connection, each batch in flight, the heartbeat, and the short statements
 * beside them (announcing changes, the catalog, cron tasks). A smaller pool makes them queue for
 * connections and, past its connect timeout, fail.
 */
export function workerConnections(config: Config): number {
  return config.concurrency + config.webhooks.concurrency + 2 + config.batchesInFlight + 2;
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
  // Load the model and embed the topic prototypes now, not on the first event.
  // Load the model and embed the topic prototypes before the first claim: a
  // claim made while the model loads would only hold its events (and count an
  // attempt) meanwhile. An embedder that fails here fails its events instead,
  // with the error they can report.
  const warmedUp = context.prototypes().then(() => undefined, (error: unknown) => log.error({ err: error }, "embedder failed to warm up"));
  const drainer = new Drainer(context, { loops: config.batchesInFlight, ready: warmedUp });

  const taskList = buildTaskList(context, drainer, {
    idleTimeoutSeconds: config.idleTimeoutSeconds,
    changeRetentionSeconds: config.changeRetentionSeconds,
    messageRetention: config.messageRetention,
  }, { onRequeue: options.onRequeue });
  const poolContext = { pool, db, log, graphileLogger: graphileLogger(log), workerId, pollInterval: options.pollInterval ?? 2000 };
  const pools = [
    supervisedPool({ name: "processing", concurrency: config.concurrency, taskList, crontab: CRONTAB }, poolContext),
    supervisedPool({ name: "webhooks", concurrency: config.webhooks.concurrency, taskList: buildWebhookTaskList(context, config.webhooks, { onAttempt: options.onWebhookAttempt }) }, poolContext),
  ] as const;
  const [processing, webhooks] = pools;
  const heartbeat = startHeartbeat(db, workerId, () => ({ pool_id: processing.poolId(), webhook_pool_id: webhooks.poolId() }), log,
    { staleAfterSeconds: config.workerStaleAfterSeconds });
  const stop = async () => {
    await Promise.all([drainer.stop(), ...pools.map((each) => each.stop())]);
    await heartbeat.stop();
  };

  const started = await Promise.allSettled(pools.map((each) => each.start()));
  const failed = started.find((result) => result.status === "rejected");
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return {
    db,
    embedder,
    workerId: Promise.resolve(workerId),
    listening: Promise.all(pools.map((each) => each.listening)).then(() => undefined),
    stop,
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
