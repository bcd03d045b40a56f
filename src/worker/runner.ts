// Builds and runs graphile-worker with Parley's tasks and cron jobs. Jobs
// arrive through LISTEN/NOTIFY; graphile-worker's polling is the fallback.
import { EventEmitter } from "node:events";
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
import { processConversation, type ProcessingContext } from "./process-conversation.js";
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
  runner: Runner;
  db: Db;
  embedder: CachedEmbedder;
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
  const embedder = new CachedEmbedder(options.embedder ?? createEmbedder(config.embedder, config.embedding), {
    store: postgresEmbeddingStore(db),
  });
  return {
    db,
    embedder,
    prototypes: topicPrototypes(embedder),
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
  let heartbeat: ReturnType<typeof startHeartbeat> | undefined;
  let resolveListening!: () => void;
  const listening = new Promise<void>((resolve) => (resolveListening = resolve));

  // pool:create fires inside run(): listen on our own emitter before starting.
  const events: WorkerEvents = new EventEmitter();
  events.on("pool:create", ({ workerPool }) => {
    resolveWorkerId(workerPool.id);
    heartbeat = startHeartbeat(db, workerPool.id, log, { staleAfterSeconds: config.workerStaleAfterSeconds });
  });
  events.on("pool:listen:success", () => resolveListening());

  const runner = await run({
    pgPool: pool,
    concurrency: config.concurrency,
    pollInterval: options.pollInterval ?? 2000,
    noHandleSignals: true,
    taskList: buildTaskList(context, config.idleTimeoutSeconds, { onRequeue: options.onRequeue }),
    crontab: CRONTAB,
    logger: graphileLogger(log),
    events,
    // Fetch jobs in batches and complete them in batches (graphile-worker's
    // documented throughput settings). The cost, more jobs locked by a worker
    // that dies, is what the heartbeat sweep already recovers.
    preset: {
      worker: {
        localQueue: { size: config.concurrency + 1 },
        completeJobBatchDelay: 0,
        failJobBatchDelay: 0,
      },
    },
  });
  return {
    runner,
    db,
    embedder,
    workerId,
    listening,
    async stop() {
      await runner.stop();
      await heartbeat?.stop();
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
