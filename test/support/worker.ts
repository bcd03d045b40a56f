// A running worker on the file's database: `startWorker(options)` starts one (the hashing
// embedder, a silent log, `env` over the test configuration) and waits until it listens; every
// worker a test started is stopped when the test ends, whatever its outcome.
import { pino } from "pino";
import type pg from "pg";
import type { Embedder } from "../../src/embed/embedder.js";
import type { Logger } from "../../src/log.js";
import { startWorker as startParleyWorker, type RunningWorker } from "../../src/worker/runner.js";
import { startInstrumentedWorker, type WorkerInstruments } from "../../src/worker/start.js";
import { test as databaseTest } from "./database.js";
import { testConfig } from "./fixtures.js";

export interface TestWorkerOptions {
  /** Variables over testConfig()'s. */
  env?: Record<string, string>;
  embedder?: Embedder;
  pollInterval?: number;
  log?: Logger;
  /** Another pool than the database's (one whose connections a test cuts, another role's). */
  pool?: pg.Pool;
  /** Starts the worker as the entry points do, with these instruments (the process's metrics). */
  metrics?: WorkerInstruments;
  /** Return before the worker LISTENs (a test that watches it start). */
  noWait?: boolean;
}

export type { TestDatabase } from "./database.js";

export type StartWorker = (options?: TestWorkerOptions) => Promise<RunningWorker>;

const silent = pino({ level: process.env.TEST_LOG ?? "silent" });

export const test = databaseTest.extend("startWorker", async ({ database }, { onCleanup }): Promise<StartWorker> => {
  const running: RunningWorker[] = [];
  onCleanup(async () => {
    await Promise.all(running.map((worker) => worker.stop()));
  });
  return async (options = {}) => {
    const common = { config: testConfig(options.env), pool: options.pool ?? database.pool, log: options.log ?? silent };
    const worker = options.metrics
      ? await startInstrumentedWorker({ ...common, metrics: options.metrics, ...(options.embedder ? { embedder: options.embedder } : {}) })
      : await startParleyWorker({ ...common, embedder: options.embedder, pollInterval: options.pollInterval });
    running.push(worker);
    if (!options.noWait) await worker.listening;
    return worker;
  };
});
export const it = test;
