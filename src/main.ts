// `npm start`: everything in one process. Migrates, then serves the HTTP API and runs the
// worker. With no DATABASE_URL it starts an embedded PostgreSQL under .data/postgres (kept
// between runs) and, unless keys are configured, an API key kept in .data/api-key, so that
// `npm ci && npm start` works on a fresh machine and `npm run demo` can talk to it.
import { createHash } from "node:crypto";
import path from "node:path";
import { loadConfig, type Config } from "./config.js";
import { createLogger } from "./log.js";
import { Lifecycle } from "./lifecycle.js";
import { migrate } from "./db/migrate.js";
import { createPool } from "./db/pool.js";
import { embeddedDatabaseUrl, startEmbeddedPostgres, type EmbeddedDatabase } from "./db/embedded.js";
import { createApiPool } from "./http/pool.js";
import { buildApp } from "./http/app.js";
import { createMetrics } from "./metrics/registry.js";
import { startMetricsServer, type MetricsServer } from "./metrics/server.js";
import { startInstrumentedWorker } from "./worker/start.js";
import { workerConnections, type RunningWorker } from "./worker/runner.js";
import { DEV_KEY_FILE, ensureDevKey } from "./dev-key.js";

const EMBEDDED_DATA_DIR = path.join(".data", "postgres");

const config = loadConfig();
const log = createLogger(config.logLevel, "parley", config.logFormat);
// SIGHUP too: a closed terminal must not leave the embedded PostgreSQL running.
const lifecycle = new Lifecycle({ log, signals: ["SIGINT", "SIGTERM", "SIGHUP"] });

await lifecycle.start(async (signal) => {
  let databaseUrl = config.databaseUrl;
  let embedded: EmbeddedDatabase | undefined;
  if (databaseUrl === undefined) {
    const url = embeddedDatabaseUrl(config.embeddedPort);
    // The first line a newcomer reads: where the data lives and how to look at it.
    log.info({ database_url: url, data_dir: EMBEDDED_DATA_DIR },
      `no DATABASE_URL: starting an embedded PostgreSQL at ${url} (data in ${EMBEDDED_DATA_DIR}/, kept between runs; inspect it with: psql ${url})`);
    embedded = await startEmbeddedPostgres({ dataDir: EMBEDDED_DATA_DIR, port: config.embeddedPort, persistent: true }).catch((error: unknown) => {
      throw new Error(`could not start the embedded PostgreSQL on port ${config.embeddedPort}: ${(error as Error).message} ` +
        `(if another server holds port ${config.embeddedPort}, set PARLEY_EMBEDDED_PORT; or set DATABASE_URL to use your own PostgreSQL)`, { cause: error });
    });
    lifecycle.onStop("embedded postgres", "shut down, its data kept in " + EMBEDDED_DATA_DIR, () => embedded!.stop());
    databaseUrl = embedded.url;
  }

  const { applied } = await migrate(databaseUrl);
  log.info({ applied }, applied.length ? `applied ${applied.length} migration(s) and the SQL API` : "schema up to date; SQL API re-applied");

  const runConfig: Config = { ...config, databaseUrl, api: await apiSettings(config, embedded !== undefined) };
  const workerPool = createPool(databaseUrl, workerConnections(config), "parley-worker");
  const apiPool = createApiPool(databaseUrl);
  lifecycle.onStop("database pools", "closed their connections", () => Promise.all([workerPool.end(), apiPool.end()]));
  const metrics = createMetrics({ pool: apiPool, log, workerStaleAfterSeconds: config.workerStaleAfterSeconds });

  const app = buildApp({ pool: apiPool, log, config: runConfig, metricsRegistry: metrics.registry });
  const apiUrl = await app.listen({ port: config.port, host: config.api.host });
  lifecycle.onStop("http api", "answered the open requests and closed the event streams", () => app.close());

  let metricsServer: MetricsServer | undefined;
  if (config.metricsPort !== 0) {
    // The API's /metrics (behind its key) shows the same registry; this port is for a scraper
    // without one. Another Parley process on this host may hold it already: not fatal here.
    metricsServer = await startMetricsServer({ registry: metrics.registry, port: config.metricsPort, log }).catch((error: unknown) => {
      log.warn({ err: (error as Error).message }, `PARLEY_METRICS_PORT ${config.metricsPort} is not available; metrics only at ${apiUrl}/metrics`);
      return undefined;
    });
    if (metricsServer) lifecycle.onStop("metrics server", "closed", () => metricsServer!.close());
  }

  // The API answers while the worker waits for a remote embedding provider, if it has to.
  const worker: RunningWorker = await startInstrumentedWorker({ config: runConfig, pool: workerPool, log, metrics, signal });
  lifecycle.onStop("worker", "finished the jobs in hand and removed its heartbeat", () => worker.stop());

  log.info({
    api: apiUrl,
    dashboard: `${apiUrl}/dashboard`,
    metrics: metricsServer ? `http://127.0.0.1:${metricsServer.port}/metrics` : `${apiUrl}/metrics`,
    worker_id: await worker.workerId,
    embedder: worker.embedder.model,
    concurrency: config.concurrency,
  }, `Parley is running: the dashboard is at ${apiUrl}/dashboard; try \`npm run demo\` in another terminal`);
});

/**
 * The API's keys. Configured keys always win. On the embedded database with none configured
 * (a developer's machine), a random key is made once and kept in .data/api-key, readable by its
 * owner only; `npm run demo` reads it from there. Elsewhere the API's own rule applies: keys are
 * required unless PARLEY_API_AUTH=off.
 */
async function apiSettings(config: Config, embedded: boolean): Promise<Config["api"]> {
  if (!embedded || config.api.auth === "off" || config.api.keyHashes.length > 0) return config.api;
  const key = await ensureDevKey();
  log.info({ key_file: DEV_KEY_FILE },
    `no PARLEY_API_KEYS: the API accepts the key in ${DEV_KEY_FILE} (curl -H "Authorization: Bearer $(cat ${DEV_KEY_FILE})" ...)`);
  return { ...config.api, keyHashes: [createHash("sha256").update(key).digest()] };
}
