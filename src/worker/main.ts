// `npm run worker`: processes conversations until SIGINT/SIGTERM, then
// finishes the jobs in hand and exits. Serves its metrics on PARLEY_METRICS_PORT.
import { loadConfig } from "../config.js";
import { requireDatabaseUrl } from "../db/database-url.js";
import { createPool } from "../db/pool.js";
import { createLogger } from "../log.js";
import { createMetrics } from "../metrics/registry.js";
import { startMetricsServer, type MetricsServer } from "../metrics/server.js";
import { startInstrumentedWorker } from "../metrics/worker.js";

const config = loadConfig();
const log = createLogger(config.logLevel, "parley-worker");
const pool = createPool(requireDatabaseUrl(config), config.concurrency + 4, "parley-worker");
const metrics = createMetrics({ pool, log, workerStaleAfterSeconds: config.workerStaleAfterSeconds });
const starting = new AbortController();

let stopping = false;
let stop: () => Promise<void> = async () => {
  starting.abort();
  await pool.end();
};
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, "stopping: finishing jobs in hand");
    stop().then(() => process.exit(0), (error: unknown) => {
      log.error({ err: error }, "unclean stop");
      process.exit(1);
    });
  });
}

let metricsServer: MetricsServer | undefined;
if (config.metricsPort !== 0) {
  metricsServer = await startMetricsServer({ registry: metrics.registry, port: config.metricsPort, log }).catch((error: unknown) => {
    log.fatal({ err: error }, `PARLEY_METRICS_PORT: cannot listen on ${config.metricsPort} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); choose another port, or 0 to turn the worker's /metrics off`);
    process.exit(2);
  });
  log.info({ port: metricsServer.port }, `metrics at http://0.0.0.0:${metricsServer.port}/metrics`);
}

try {
  const worker = await startInstrumentedWorker({ config, pool, log, metrics, signal: starting.signal });
  stop = async () => {
    await worker.stop();
    await metricsServer?.close();
    await pool.end();
  };
  log.info({ worker_id: await worker.workerId, concurrency: config.concurrency, embedder: worker.embedder.model }, "worker started");
} catch (error) {
  if (!starting.signal.aborted) {
    log.fatal({ err: error }, `worker could not start: ${(error as Error).message}`);
    process.exit(1);
  }
}
