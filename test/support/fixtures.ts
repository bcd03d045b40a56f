// Payloads and small waits shared by the integration tests.
import { randomBytes } from "node:crypto";
import { createServer, type AddressInfo } from "node:net";
import { sql } from "kysely";
import pg from "pg";
import { expect } from "vitest";
import { parseConfig, type Config } from "../../src/config.js";
import type { Db } from "../../src/db/pool.js";
import type { EndConversationPayload } from "../../src/ingest/payloads.js";

export function uniqueId(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString("hex")}`;
}

/** The payload of README's first example, with the optional `metadata` sent empty. */
export const contractExample: EndConversationPayload = {
  conversation_id: "conv_abc123xyz",
  profile_id: "user_123",
  bot_type: "TALK",
  bot_id: "talk_movie_preference",
  bot_name: "Movie Preference Talk",
  start_time: "2025-11-25T18:00:00Z",
  end_time: "2025-11-25T18:20:00Z",
  conversation_log: [
    { role: "agent", content: "Hi! Seen any good movies lately?", timestamp: "2025-11-25T18:00:02Z" },
    { role: "user", content: "Yes, Dune. Have you seen it?", timestamp: "2025-11-25T18:00:09Z" },
  ],
  metadata: {},
};

/** The contract's example with a fresh conversation_id and four turns, two of them the user's questions. */
export function conversationPayload(overrides: Record<string, unknown> = {}) {
  return {
    ...contractExample,
    conversation_id: uniqueId("conv"),
    conversation_log: [
      { role: "agent", content: "Hi! Seen any good movies lately?", timestamp: "2025-11-25T18:00:02Z" },
      { role: "user", content: "Yes, Dune. Have you seen it? I loved the film!", timestamp: "2025-11-25T18:00:09Z" },
      { role: "agent", content: "I have! The desert scenes at the cinema were stunning.", timestamp: "2025-11-25T18:00:15Z" },
      { role: "user", content: "What other movies would you recommend?", timestamp: "2025-11-25T18:00:30Z" },
    ],
    ...overrides,
  };
}

// JSON.stringify: node-pg would send a JS array as a PostgreSQL array literal.
export async function endConversation(pool: Pick<pg.Pool | pg.PoolClient, "query">, payload: unknown): Promise<string> {
  const { rows } = await pool.query<{ event_id: string }>("select parley.end_conversation($1) as event_id", [JSON.stringify(payload)]);
  return rows[0]!.event_id;
}

export function testConfig(env: Record<string, string> = {}): Config {
  return parseConfig({ PARLEY_EMBEDDER: "hashing", LOG_LEVEL: "silent", PARLEY_CONCURRENCY: "4", ...env });
}

export async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 10_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export async function eventRow(db: Db, eventId: string) {
  return db.selectFrom("parley.conversation_events").selectAll().where("event_id", "=", eventId).executeTakeFirstOrThrow();
}

export async function waitForStatus(db: Db, eventId: string, status: string, timeoutMs = 10_000) {
  return waitFor(async () => {
    const row = await eventRow(db, eventId);
    return row.status === status ? row : undefined;
  }, timeoutMs);
}

/** Row counts of every table a write can touch, to prove a rejected call wrote nothing. */
export async function tableCounts(db: Db): Promise<Record<string, number>> {
  const { rows } = await sql<{ name: string; count: number }>`
    select 'conversations' as name, count(*)::int as count from parley.conversations
    union all select 'messages', count(*)::int from parley.messages
    union all select 'events', count(*)::int from parley.conversation_events
    union all select 'jobs', count(*)::int from graphile_worker._private_jobs`.execute(db);
  return Object.fromEntries(rows.map((row) => [row.name, row.count]));
}

/** The error `promise` rejects with; the test fails unless it rejects with a `type`. */
export async function rejected<E extends Error>(promise: Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error, "the call should have been rejected").toBeInstanceOf(type);
  return error as E;
}

/** How PostgreSQL refused a call (SQLSTATE, COLUMN, message). */
export function sqlRejection(call: Promise<unknown>): Promise<pg.DatabaseError> {
  return rejected(call, pg.DatabaseError);
}

/** A TCP port on 127.0.0.1 that nothing listens on: free for a server, refused to a client. */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
