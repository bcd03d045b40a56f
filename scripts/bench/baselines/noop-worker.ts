// graphile-worker alone: a pool whose one task does nothing, with the same
// settings as Parley's (src/worker/runner.ts): its concurrency, batched job
// completion, no local queue. What draining its queue costs is the floor
// under any processing built on it. Started as a child process; sends
// "listening" on its IPC channel once its pool listens for jobs.
import { EventEmitter } from "node:events";
import { Logger, run, type WorkerEvents } from "graphile-worker";

const events: WorkerEvents = new EventEmitter();
events.on("pool:listen:success", () => process.send?.({ listening: true }));
const runner = await run({
  connectionString: process.env.DATABASE_URL!,
  concurrency: Number(process.env.NOOP_CONCURRENCY ?? 8),
  noHandleSignals: true,
  pollInterval: 2000,
  taskList: { bench_noop: async () => {} },
  events,
  logger: new Logger(() => () => {}),
  preset: { worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
});
process.on("SIGTERM", () => void runner.stop().then(() => process.exit(0)));
