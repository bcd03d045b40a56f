// `npm run worker`: processes conversations until SIGINT/SIGTERM, then finishes the jobs in hand
// and exits (src/lifecycle.ts). Serves its metrics on PARLEY_METRICS_PORT.
import { loadConfig } from "../config.js";
import { requireDatabaseUrl } from "../db/database-url.js";
import { createPool } from "../db/pool.js";
import { Lifecycle, StartError } from "../lifecycle.js";
import { createLogger } from "../log.js";
import { createMetrics } from "../metrics/registry.js";
import { startMetricsServer } from "../metrics/server.js";
import { workerConnections } from "./runner.js";
import { startInstrumentedWorker } from "./start.js";

const config = loadConfig();
const log = createLogger(config.logLevel, "parley-worker", config.logFormat);
const lifecycle = new Lifecycle({ log });

await lifecycle.start(async (signal) => {
  const pool = createPool(requireDatabaseUrl(config), workerConnections(config), "parley-worker");
  lifecycle.onStop("database pool", "closed its connections", () => pool.end());
  const metrics = createMetrics({ pool, log, workerStaleAfterSeconds: config.workerStaleAfterSeconds });

  if (config.metricsPort !== 0) {
    const metricsServer = await startMetricsServer({ registry: metrics.registry, port: config.metricsPort, log }).catch((error: unknown) => {
      throw new StartError(`PARLEY_METRICS_PORT: cannot listen on ${config.metricsPort} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); choose another port, or 0 to turn the worker's /metrics off`, 2, { cause: error });
    });
    lifecycle.onStop("metrics server", "closed", () => metricsServer.close());
    log.info({ port: metricsServer.port }, `metrics at http://0.0.0.0:${metricsServer.port}/metrics`);
  }

  const worker = await startInstrumentedWorker({ config, pool, log, metrics, signal });
  lifecycle.onStop("worker", "finished the jobs in hand and removed its heartbeat", () => worker.stop());
  log.info({ worker_id: await worker.workerId, concurrency: config.concurrency, embedder: worker.embedder.model }, "worker started");
});
