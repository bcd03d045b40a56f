import pg from "pg";
import { Kysely, PostgresDialect } from "kysely";
import type { Database } from "./tables.js";

// bigint (int8) ids stay strings in JS: event ids can outgrow 2^53 in theory,
// and a string round-trips exactly.
export type Db = Kysely<Database>;

export function createPool(
  connectionString: string,
  max = 10,
  applicationName = "parley",
  options: Omit<pg.PoolConfig, "connectionString" | "max" | "application_name"> = {},
): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    application_name: applicationName,
    // A database that went away must fail a caller, not hang it.
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
    ...options,
  });
  // An idle client that loses its connection (PostgreSQL restart, terminated
  // backend) emits 'error' on the pool; without a listener that kills the process.
  pool.on("error", () => {});
  pool.on("connect", (client) => {
    client.on("error", () => {});
  });
  return pool;
}

export function createDb(pool: pg.Pool): Db {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
