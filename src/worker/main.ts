// `npm run worker`: processes conversations until SIGINT/SIGTERM, then
// finishes the jobs in hand and exits.
import { loadConfig } from "../config.js";
import { requireDatabaseUrl } from "../db/database-url.js";
import { createPool } from "../db/pool.js";
import { createLogger } from "../log.js";
import { startWorker } from "./runner.js";

const config = loadConfig();
const log = createLogger(config.logLevel, "parley-worker");
const pool = createPool(requireDatabaseUrl(config), config.concurrency + 4, "parley-worker");
const worker = await startWorker({ config, pool, log });
log.info({ worker_id: await worker.workerId, concurrency: config.concurrency, embedder: config.embedder }, "worker started");

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, "stopping: finishing jobs in hand");
    worker.stop().then(() => pool.end()).then(() => process.exit(0), (error: unknown) => {
      log.error({ err: error }, "unclean stop");
      process.exit(1);
    });
  });
}
