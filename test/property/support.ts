// Reading back what the SQL API stored, exactly: instants as integer
// microseconds computed by PostgreSQL, text as JS strings, JSON parsed.
import type pg from "pg";
import { expect } from "vitest";
import type { GeneratedMessage, GeneratedTime, Json } from "./arbitraries.js";

export interface SqlFailure {
  code: string;
  column: string | undefined;
  message: string;
}

/** The PostgreSQL error a call raised, or the test fails because it succeeded. */
export async function sqlFailure(call: Promise<unknown>, label = "the call"): Promise<SqlFailure> {
  try {
    await call;
  } catch (error) {
    const { code, column, message } = error as { code?: string; column?: string; message: string };
    if (code === undefined) throw error;
    return { code, column, message };
  }
  throw new Error(`expected ${label} to be rejected, and it succeeded`);
}

/** Rows in every table a write function can touch, and graphile-worker's jobs. */
export interface Counts {
  conversations: number;
  messages: number;
  events: number;
  embeddings: number;
  embedding_cache: number;
  friendship: number;
  candidates: number;
  heartbeats: number;
  jobs: number;
  /** The sum of conversations.message_count: a rejected call must not bump it either. */
  message_counts: number;
}

export async function allCounts(pool: pg.Pool): Promise<Counts> {
  const { rows } = await pool.query<Counts>(`
    select
      (select count(*)::int from parley.conversations) as conversations,
      (select count(*)::int from parley.messages) as messages,
      (select count(*)::int from parley.conversation_events) as events,
      (select count(*)::int from parley.conversation_embeddings) as embeddings,
      (select count(*)::int from parley.embedding_cache) as embedding_cache,
      (select count(*)::int from parley.friendship_status) as friendship,
      (select count(*)::int from parley.agent_candidates) as candidates,
      (select count(*)::int from parley.worker_heartbeats) as heartbeats,
      (select count(*)::int from graphile_worker._private_jobs) as jobs,
      (select coalesce(sum(message_count), 0)::int from parley.conversations) as message_counts`);
  return rows[0]!;
}

/** A rejection in the SQL API's shape: SQLSTATE 22023, COLUMN = the field path, message "<path>: <problem>". */
export function expectInvalid(failure: SqlFailure, path: string): void {
  expect(failure, failure.message).toMatchObject({ code: "22023", column: path });
  expect(failure.message.startsWith(`${path}: `), failure.message).toBe(true);
}

const micros = (column: string) => `trunc(extract(epoch from ${column}) * 1000000)::text`;

export interface StoredConversation {
  conversation_id: string;
  profile_id: string;
  bot_type: string;
  bot_id: string;
  bot_name: string | null;
  started: string;
  ended: string | null;
  is_active: boolean;
  message_count: number;
  metadata: Json;
}

export interface StoredMessage {
  seq: number;
  message_id: string | null;
  role: string;
  content: string;
  sent: string | null;
  metadata: Json;
}

export async function storedConversation(pool: pg.Pool, conversationId: string) {
  const conversation = await pool.query<StoredConversation>(
    `select conversation_id, profile_id, bot_type, bot_id, bot_name, ${micros("started_at")} as started,
            ${micros("ended_at")} as ended, is_active, message_count, metadata
     from parley.conversations where conversation_id = $1`,
    [conversationId],
  );
  const messages = await pool.query<StoredMessage>(
    `select seq, message_id, role, content, ${micros("sent_at")} as sent, metadata
     from parley.messages where conversation_id = $1 order by seq`,
    [conversationId],
  );
  const events = await pool.query<{ event_id: string; status: string; profile_id: string; jobs: number }>(
    `select e.event_id, e.status, e.profile_id,
            (select count(*)::int from graphile_worker._private_jobs j where j.key = 'parley:event:' || e.event_id) as jobs
     from parley.conversation_events e where e.conversation_id = $1`,
    [conversationId],
  );
  return { conversation: conversation.rows[0], messages: messages.rows, events: events.rows };
}

/** JSON as PostgreSQL gives it back: the same value, with JSON's own normalisations (-0 is 0). */
export function asJson(value: Json | undefined): Json | undefined {
  return value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as Json);
}

export const instant = (time: GeneratedTime | null | undefined) => (time ? time.micros.toString() : null);

export function expectedMessages(messages: GeneratedMessage[], firstSeq = 1): StoredMessage[] {
  return messages.map((message, index) => ({
    seq: firstSeq + index,
    message_id: message.message_id ?? null,
    role: message.role,
    content: message.content,
    sent: instant(message.timestamp),
    metadata: (asJson(message.metadata ?? undefined) ?? null) as Json,
  }));
}

export function expectSameMessages(stored: StoredMessage[], expected: StoredMessage[]): void {
  expect(stored.length).toBe(expected.length);
  stored.forEach((message, index) => {
    const want = expected[index]!;
    // Compared one by one so that a failure names the field, and content is
    // compared as exact strings (toEqual would accept nothing less either).
    expect(message.seq).toBe(want.seq);
    expect(message.message_id).toBe(want.message_id);
    expect(message.role).toBe(want.role);
    expect(message.content === want.content, `content of message ${index} differs`).toBe(true);
    expect(message.sent).toBe(want.sent);
    expect(message.metadata).toEqual(want.metadata);
  });
}


/**
 * fast-check settings shared by the property tests: a failure found late is
 * still reported (with the smallest counterexample shrunk so far) before the
 * test's own timeout, instead of the test timing out mid-shrink.
 */
export const SHRINK_BUDGET = { interruptAfterTimeLimit: 45_000 } as const;
export const PROPERTY_TIMEOUT = 60_000;
