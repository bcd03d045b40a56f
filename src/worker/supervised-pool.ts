// One graphile-worker pool (one `run()`), with its own task list and
// concurrency, kept running: graphile-worker stops a pool that cannot record
// a job's completion (the database went away), and this starts a new one. A
// worker process runs two: processing (with the cron jobs) and webhooks.
import { EventEmitter } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { run, type Logger as GraphileLogger, type Runner, type TaskList, type WorkerEvents } from "graphile-worker";
import { sql } from "kysely";
import type pg from "pg";
import type { Db } from "../db/pool.js";
import type { Logger } from "../log.js";

export interface PoolSpec {
  /** Names the pool in logs: "processing", "webhooks". */
  name: string;
  concurrency: number;
  taskList: TaskList;
  crontab?: string;
}

export interface PoolContext {
  pool: pg.Pool;
  db: Db;
  log: Logger;
  graphileLogger: GraphileLogger;
  workerId: string;
  pollInterval: number;
}

export interface SupervisedPool {
  start(): Promise<void>;
  /** Resolves once the pool LISTENs for new jobs. */
  listening: Promise<void>;
  /** The running graphile-worker pool's id: what its jobs' locked_by says. */
  poolId(): string | undefined;
  stop(): Promise<void>;
}

export function supervisedPool(spec: PoolSpec, context: PoolContext): SupervisedPool {
  const { log, workerId } = context;
  let resolveListening!: () => void;
  const listening = new Promise<void>((resolve) => (resolveListening = resolve));
  let current: { runner: Runner; poolId: string | undefined } | undefined;
  let restarting: Promise<void> | undefined;
  let stopping = false;
  const stopped = new AbortController();
  const fields = { worker_id: workerId, pool: spec.name };

  async function start(): Promise<void> {
    const started: { poolId: string | undefined } = { poolId: undefined };
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
      log.error({ ...fields, pool_id: workerPool.id, reason: message }, "worker pool is shutting down unexpectedly");
      setTimeout(() => void workerPool.forcefulShutdown("did not stop within 30 s"), 30_000).unref();
    });

    const runner = await run({
      pgPool: context.pool,
      concurrency: spec.concurrency,
      pollInterval: context.pollInterval,
      noHandleSignals: true,
      taskList: spec.taskList,
      // No crontab: none, rather than graphile-worker's look for a crontab file.
      ...(spec.crontab ? { crontab: spec.crontab } : { parsedCronItems: [] }),
      logger: context.graphileLogger,
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
      log.error({ err: error, ...fields, pool_id: poolId }, "worker pool stopped; releasing its jobs and starting a new one");
      restarting = restart(poolId);
    });
  }

  async function restart(deadPoolId: string | undefined): Promise<void> {
    for (let attempt = 0; !stopping; attempt++) {
      await sleep(Math.min(1000, 250 * 2 ** attempt), undefined, { signal: stopped.signal }).catch(() => {});
      if (stopping) return;
      try {
        // Nothing runs in that pool any more: its jobs can go at once rather
        // than after PARLEY_WORKER_STALE_AFTER.
        if (deadPoolId) await sql`select graphile_worker.force_unlock_workers(${[deadPoolId]}::text[])`.execute(context.db);
        await start();
        log.info({ attempt: attempt + 1, ...fields, pool_id: current?.poolId }, "worker pool restarted");
        return;
      } catch (error) {
        log.warn({ err: error, attempt: attempt + 1, ...fields }, "worker pool could not start yet; retrying");
      }
    }
  }

  return {
    start,
    listening,
    poolId: () => current?.poolId,
    async stop() {
      stopping = true;
      stopped.abort();
      await restarting;
      await current?.runner.stop().catch(() => {});
    },
  };
}
