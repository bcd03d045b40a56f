// The API's connection pool. Bounded waits everywhere, so that a database
// outage answers 503 within seconds instead of holding requests open: a
// connection attempt, a statement (server side) and a reply (client side,
// for a server that stopped answering without closing the socket).
import type pg from "pg";
import { createPool } from "../db/pool.js";

export const API_DB_TIMEOUTS = {
  connectMs: 3000,
  statementMs: 10_000,
  queryMs: 12_000,
} as const;

export function createApiPool(connectionString: string, max = 10): pg.Pool {
  return createPool(connectionString, max, "parley-api", {
    connectionTimeoutMillis: API_DB_TIMEOUTS.connectMs,
    statement_timeout: API_DB_TIMEOUTS.statementMs,
    query_timeout: API_DB_TIMEOUTS.queryMs,
    idle_in_transaction_session_timeout: API_DB_TIMEOUTS.statementMs,
  });
}
