// Shared by the HTTP tests: config, an app over a test database, captured logs.
import { Writable } from "node:stream";
import { pino } from "pino";
import type pg from "pg";
import { parseConfig, type Config } from "../../src/config.js";
import { buildApp, type AppOptions } from "../../src/http/app.js";
import type { Logger } from "../../src/log.js";
import type { EndConversationPayload } from "../../src/ingest/payloads.js";
import { contractExample, waitFor } from "../support/fixtures.js";

export const API_KEY = "test-key-0123456789abcdef";
export const OTHER_KEY = "other-key-0123456789abcdef";
export const AUTH = { authorization: `Bearer ${API_KEY}` };

export function testConfig(env: Record<string, string> = {}): Config {
  return parseConfig({
    PARLEY_API_KEYS: API_KEY,
    PARLEY_EMBEDDER: "hashing",
    PARLEY_CONCURRENCY: "2",
    LOG_LEVEL: "silent",
    ...env,
  });
}

/** A logger whose JSON lines are kept, to assert what was (not) logged. */
export function capturingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split("\n").filter(Boolean));
      done();
    },
  });
  return { log: pino({ level: "debug" }, stream), lines };
}

export const silentLog: Logger = pino({ level: "silent" });

export function testApp(pool: pg.Pool, options: Partial<AppOptions> = {}) {
  return buildApp({ pool, log: silentLog, config: testConfig(), ...options });
}

let counter = 0;
/** The contract's example payload with a fresh conversation_id. */
export function endPayload(overrides: Partial<EndConversationPayload> = {}): EndConversationPayload {
  counter++;
  return { ...contractExample, conversation_id: `conv_http_${process.pid}_${counter}`, profile_id: "user_http", ...overrides };
}

/** waitFor with the longer defaults the HTTP tests use (a worker in another process). */
export function until<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 15_000, intervalMs = 50): Promise<T> {
  return waitFor(probe, timeoutMs, intervalMs);
}

/**
 * Waits until every transaction of this database that began before now has
 * ended: then every change committed so far is below the change log's
 * horizon, and a resumed stream's backlog holds it (sql/event_changes.sql).
 */
export async function changesSettled(pool: pg.Pool): Promise<void> {
  const { rows: [now] } = await pool.query<{ txid: string }>("select pg_current_xact_id()::text as txid");
  await until(async () => {
    const { rows: [horizon] } = await pool.query<{ passed: boolean }>(
      "select txid > $1::xid8 as passed from parley.event_changes_head()", [now!.txid]);
    return horizon!.passed;
  });
}
