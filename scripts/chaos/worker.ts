// A worker process like `npm run worker`, but with the chaos embedder in front
// of the hashing embedder (the flaky-embedder scenario). Its timeout is
// PARLEY_EMBED_TIMEOUT_MS, as for the HTTP providers. Arguments:
//   --fail-rate 0.333 --stall-rate 0.1 --stall-ms 3000
// Everything else, including what happens on SIGTERM, is src/worker/main.ts's
// behaviour: this script adds no recovery of its own.
import { parseArgs } from "node:util";
import { loadConfig } from "../../src/config.js";
import { requireDatabaseUrl } from "../../src/db/database-url.js";
import { createPool } from "../../src/db/pool.js";
import { createLogger } from "../../src/log.js";
import { HashingEmbedder } from "../../src/embed/hashing.js";
import { startWorker, workerConnections } from "../../src/worker/runner.js";
import { ChaosEmbedder } from "./embedder.js";

const { values } = parseArgs({
  options: {
    "fail-rate": { type: "string", default: "0.3333" },
    "stall-rate": { type: "string", default: "0.1" },
    "stall-ms": { type: "string", default: "3000" },
  },
});
const config = loadConfig();
const log = createLogger(config.logLevel, "parley-chaos-worker");
const embedder = new ChaosEmbedder(new HashingEmbedder(), {
  failRate: Number(values["fail-rate"]),
  stallRate: Number(values["stall-rate"]),
  stallMs: Number(values["stall-ms"]),
  timeoutMs: config.embedding.timeoutMs,
});
const pool = createPool(requireDatabaseUrl(config), workerConnections(config), "parley-worker");
const worker = await startWorker({ config, pool, log, embedder });
log.info({ worker_id: await worker.workerId, chaos: values }, "worker started");

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    log.warn({ signal, embedder_calls: embedder.counts }, "stopping: finishing jobs in hand");
    worker.stop().then(() => pool.end()).then(() => process.exit(0), () => process.exit(1));
  });
}
