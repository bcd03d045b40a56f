// `npm run api`: the HTTP API alone (the worker runs elsewhere: `npm run worker`). Stops on
// SIGINT/SIGTERM after open requests finish (src/lifecycle.ts).
import { ConfigError, loadConfig } from "../config.js";
import { requireDatabaseUrl } from "../db/database-url.js";
import { Lifecycle, StartError } from "../lifecycle.js";
import { createLogger } from "../log.js";
import { createMetrics } from "../metrics/registry.js";
import { buildApp } from "./app.js";
import { createApiPool } from "./pool.js";

const config = loadConfig();
const log = createLogger(config.logLevel, "parley-api", config.logFormat);
const lifecycle = new Lifecycle({ log });

await lifecycle.start(async () => {
  const pool = createApiPool(requireDatabaseUrl(config));
  lifecycle.onStop("database pool", "closed its connections", () => pool.end());
  const metrics = createMetrics({ pool, log, workerStaleAfterSeconds: config.workerStaleAfterSeconds });
  let app;
  try {
    app = buildApp({ pool, log, config, metricsRegistry: metrics.registry });
  } catch (error) {
    if (error instanceof ConfigError) throw new StartError(`invalid configuration: ${error.message}`, 2, { cause: error });
    throw error;
  }
  const address = await app.listen({ host: config.api.host, port: config.port });
  lifecycle.onStop("http api", "answered the open requests and closed the event streams", () => app.close());
  log.info({ address, dashboard: `${address}/dashboard`, auth: config.api.auth === "off" ? "off" : `${config.api.keyHashes.length} key(s)` }, "api listening");
});
