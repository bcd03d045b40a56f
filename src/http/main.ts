// `npm run api`: the HTTP API alone (the worker runs elsewhere: `npm run
// worker`). Stops on SIGINT/SIGTERM after open requests finish.
import { ConfigError, loadConfig } from "../config.js";
import { requireDatabaseUrl } from "../db/database-url.js";
import { createLogger } from "../log.js";
import { createMetrics } from "../metrics/registry.js";
import { buildApp } from "./app.js";
import { createApiPool } from "./pool.js";

const config = loadConfig();
const log = createLogger(config.logLevel, "parley-api");
const pool = createApiPool(requireDatabaseUrl(config));

let app;
try {
  const metrics = createMetrics({ pool, log, workerStaleAfterSeconds: config.workerStaleAfterSeconds });
  app = buildApp({ pool, log, config, metricsRegistry: metrics.registry });
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`parley: invalid configuration: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
const address = await app.listen({ host: config.api.host, port: config.port });
log.info({ address, auth: config.api.auth === "off" ? "off" : `${config.api.keyHashes.length} key(s)` }, "api listening");

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, "stopping: finishing open requests");
    app.close().then(() => pool.end()).then(() => process.exit(0), (error: unknown) => {
      log.error({ err: error }, "unclean stop");
      process.exit(1);
    });
  });
}
