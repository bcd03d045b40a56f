// Users with a history, for the tests of search, forget, export and retention:
// conversations ended through the SQL API and processed by the real task
// handler, so every table a user's data reaches has rows.
import { createHash } from "node:crypto";
import { pino } from "pino";
import type pg from "pg";
import { HashingEmbedder } from "../../src/embed/hashing.js";
import type { Embedder } from "../../src/embed/embedder.js";
import { processDueEvents } from "../../src/worker/process-batch.js";
import { createProcessingContext } from "../../src/worker/runner.js";
import { conversationPayload, endConversation, testConfig } from "./fixtures.js";

/**
 * The hashing embedder without its `cheap` flag, so the worker keeps its
 * vectors in parley.embedding_cache as it does for a real model.
 */
export function storedHashingEmbedder(): Embedder {
  const inner = new HashingEmbedder();
  return { model: inner.model, dimension: inner.dimension, embed: (texts) => inner.embed(texts) };
}

export interface SeededConversation {
  conversationId: string;
  eventId: string;
  texts: string[];
}

/** Ends one conversation per entry of `conversations` (each a list of message texts, user and agent in turn). */
export async function endConversations(pool: pg.Pool, profileId: string, conversations: string[][], overrides: Record<string, unknown> = {}): Promise<SeededConversation[]> {
  const seeded: SeededConversation[] = [];
  for (const texts of conversations) {
    const payload = conversationPayload({
      profile_id: profileId,
      conversation_log: texts.map((content, i) => ({ role: i % 2 === 0 ? "user" : "agent", content })),
      ...overrides,
    });
    const eventId = await endConversation(pool, payload);
    seeded.push({ conversationId: payload.conversation_id, eventId, texts });
  }
  return seeded;
}

/**
 * Claims and processes each event with the worker's own code, one at a time, as a worker that
 * has seen their texts before: the worker stores a text's vector once it repeats, so every
 * text of these events reaches parley.embedding_cache.
 */
export async function processEvents(pool: pg.Pool, eventIds: readonly string[], embedder: Embedder = storedHashingEmbedder()): Promise<void> {
  const context = createProcessingContext({
    config: testConfig({ PARLEY_BATCH_SIZE: "1" }), pool, log: pino({ level: "silent" }), embedder,
  });
  const { rows } = await pool.query<{ content: string }>(
    "select m.content from parley.messages m join parley.conversation_events e using (conversation_id) where e.event_id = any($1::bigint[])",
    [eventIds]);
  await context.embedder.embedUnstored(rows.map((row) => row.content));
  for (const eventId of eventIds) {
    const { outcomes } = await processDueEvents(context, [eventId]);
    if (outcomes.get(eventId) !== "processed") throw new Error(`event ${eventId}: ${outcomes.get(eventId) ?? "not claimed"}`);
  }
}

/** parley.export_user's document. */
export async function exportUser(pool: pg.Pool, profileId: string): Promise<Record<string, unknown>> {
  const { rows } = await pool.query<{ doc: Record<string, unknown> }>("select parley.export_user($1) as doc", [profileId]);
  return rows[0]!.doc;
}

/** The key parley.embedding_cache stores a text under (src/embed/embedder.ts). */
export function contentHashHex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * Every row of every table in schemas parley and graphile_worker, as text,
 * that contains one of `needles`: found by walking the catalog, so a table
 * added later is searched too.
 */
export async function rowsMentioning(pool: pg.Pool, needles: readonly string[]): Promise<Array<{ table: string; row: string; needle: string }>> {
  const { rows: tables } = await pool.query<{ name: string }>(`
    select format('%I.%I', n.nspname, c.relname) as name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname in ('parley', 'graphile_worker') and c.relkind in ('r', 'p')
    order by 1`);
  const found: Array<{ table: string; row: string; needle: string }> = [];
  for (const { name } of tables) {
    const { rows } = await pool.query<{ row: string }>(`select t::text as row from ${name} as t`);
    for (const { row } of rows) {
      for (const needle of needles) {
        if (row.includes(needle)) found.push({ table: name, row: row.slice(0, 200), needle });
      }
    }
  }
  return found;
}

/**
 * Rows of any table in schemas parley and graphile_worker whose column named
 * like a key of `ids` (event_id, conversation_id, profile_id) holds one of its
 * values, compared exactly: found through the catalog, so a table added later
 * that keys rows by these ids is checked too.
 */
export async function rowsKeyedBy(pool: pg.Pool, ids: Record<string, ReadonlyArray<string>>): Promise<Array<{ table: string; column: string; count: number }>> {
  const { rows: columns } = await pool.query<{ table: string; column: string }>(`
    select format('%I.%I', c.table_schema, c.table_name) as table, c.column_name as column
    from information_schema.columns c
    join information_schema.tables t using (table_schema, table_name)
    where c.table_schema in ('parley', 'graphile_worker') and t.table_type = 'BASE TABLE' and c.column_name = any($1)
    order by 1, 2`, [Object.keys(ids)]);
  const found: Array<{ table: string; column: string; count: number }> = [];
  for (const { table, column } of columns) {
    const { rows } = await pool.query<{ count: number }>(
      `select count(*)::int as count from ${table} where ${column}::text = any($1::text[])`, [ids[column]]);
    if (rows[0]!.count > 0) found.push({ table, column, count: rows[0]!.count });
  }
  return found;
}
