// Each worker process records that it is alive, with the graphile-worker pools
// it runs (processing, webhooks), and on the same timer releases what workers
// that went silent held (parley.release_dead_workers): their claimed events and
// their pools' jobs.
// A worker killed with SIGKILL thus delays its events by about stale_after
// plus one sweep, not by graphile-worker's 4-hour lock timeout. This runs on a
// timer in every worker rather than as a cron task because cron fires once a
// minute.
import os from "node:os";
import { sql } from "kysely";
import type { Db } from "../db/pool.js";
import type { Logger } from "../log.js";

export interface HeartbeatOptions {
  staleAfterSeconds: number;
  intervalMs?: number;
}

/** The ids of the process's graphile-worker pools, while they run. */
export interface HeartbeatPools {
  pool_id: string | undefined;
  webhook_pool_id: string | undefined;
}

export function startHeartbeat(db: Db, workerId: string, poolIds: () => HeartbeatPools, log: Logger, options: HeartbeatOptions) {
  const intervalMs = options.intervalMs ?? Math.max(1000, (options.staleAfterSeconds * 1000) / 6);
  const beat = async () => {
    const { pool_id, webhook_pool_id } = poolIds();
    const pools = { pool_id: pool_id ?? null, webhook_pool_id: webhook_pool_id ?? null };
    await db
      .insertInto("parley.worker_heartbeats")
      .values({ worker_id: workerId, hostname: os.hostname(), pid: process.pid, ...pools })
      .onConflict((conflict) => conflict.column("worker_id").doUpdateSet({ last_seen_at: sql`now()`, ...pools }))
      .execute();
    const { rows } = await sql<{ released: string[] }>`
      select parley.release_dead_workers(make_interval(secs => ${options.staleAfterSeconds})) as released`.execute(db);
    const released = rows[0]?.released ?? [];
    if (released.length > 0) log.warn({ released }, "released what workers that stopped heartbeating held");
  };
  let running = Promise.resolve();
  const tick = () => {
    running = beat().catch((error: unknown) => log.warn({ err: error }, "heartbeat failed"));
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
      await db.deleteFrom("parley.worker_heartbeats").where("worker_id", "=", workerId).execute().catch(() => {});
    },
  };
}
