// parley.apply_retention: old message bodies of PROCESSED conversations go,
// in bounded chunks; conversations, events, results and vectors stay.
import { describe, expect } from "vitest";
import { DatabaseError } from "pg";
import { it, type TestDatabase } from "../support/database.js";
import { uniqueId } from "../support/fixtures.js";
import { endConversations, processEvents, type SeededConversation } from "../support/user-data.js";

/** Moves the conversations' end (and start) `days` into the past. */
async function age(database: TestDatabase, conversations: SeededConversation[], days: number): Promise<void> {
  await database.pool.query(
    `update parley.conversations set started_at = now() - make_interval(days => $2) - interval '10 minutes',
                                     ended_at = now() - make_interval(days => $2)
     where conversation_id = any($1)`, [conversations.map((c) => c.conversationId), days]);
}

async function retain(database: TestDatabase, olderThan: string, batchSize?: number): Promise<number> {
  const { rows } = await database.pool.query<{ deleted: string }>(
    batchSize === undefined ? "select parley.apply_retention($1::interval) as deleted" : "select parley.apply_retention($1::interval, $2) as deleted",
    batchSize === undefined ? [olderThan] : [olderThan, batchSize]);
  return Number(rows[0]!.deleted);
}

async function messageCounts(database: TestDatabase, conversations: SeededConversation[]): Promise<number[]> {
  const { rows } = await database.pool.query<{ id: string; n: number }>(
    `select c.conversation_id as id, count(m.seq)::int as n from parley.conversations c
     left join parley.messages m using (conversation_id) where c.conversation_id = any($1) group by 1`,
    [conversations.map((c) => c.conversationId)]);
  const byId = new Map(rows.map((row) => [row.id, row.n]));
  return conversations.map((c) => byId.get(c.conversationId) ?? -1);
}

/** Deletes everything earlier tests left old enough to be swept, so counts are this test's own. */
async function sweep(database: TestDatabase): Promise<void> {
  while ((await retain(database, "0 seconds", 10000)) > 0);
}

describe("parley.apply_retention", () => {
  it("deletes the messages of PROCESSED conversations that ended before the cutoff, and keeps the rest", async ({ database }) => {
    await sweep(database);
    const profileId = uniqueId("retention");
    const [oldDone, recentDone, oldPending, oldFailed] = await endConversations(database.pool, profileId, [
      ["old and processed", "yes"], ["recent and processed"], ["old but pending"], ["old but failed"],
    ]);
    await processEvents(database.pool, [oldDone!.eventId, recentDone!.eventId]);
    await database.pool.query("update parley.conversation_events set status = 'FAILED', error_code = 'processing_error' where event_id = $1", [oldFailed!.eventId]);
    await age(database, [oldDone!, oldPending!, oldFailed!], 100);
    await age(database, [recentDone!], 10);
    const before = await database.pool.query("select * from parley.conversation_events where event_id = $1", [oldDone!.eventId]);

    expect(await retain(database, "90 days")).toBe(2);
    expect(await messageCounts(database, [oldDone!, recentDone!, oldPending!, oldFailed!])).toEqual([0, 1, 1, 1]);

    const { rows: [conversation] } = await database.pool.query(
      "select message_count, messages_deleted_at, ended_at from parley.conversations where conversation_id = $1", [oldDone!.conversationId]);
    expect(conversation.message_count).toBe(2);
    expect(conversation.messages_deleted_at).toBeInstanceOf(Date);
    expect((await database.pool.query("select * from parley.conversation_events where event_id = $1", [oldDone!.eventId])).rows)
      .toEqual(before.rows);
    const { rows: vectors } = await database.pool.query("select 1 from parley.conversation_embeddings where conversation_id = $1", [oldDone!.conversationId]);
    expect(vectors).toHaveLength(1);
    expect(await retain(database, "90 days")).toBe(0);
  });

  it("handles at most batch_size conversations a call, oldest first, until it returns 0", async ({ database }) => {
    await sweep(database);
    const profileId = uniqueId("chunks");
    const seeded = await endConversations(database.pool, profileId, Array.from({ length: 5 }, (_, i) => [`chunk ${i}`, "reply"]));
    await processEvents(database.pool, seeded.map((c) => c.eventId));
    for (const [i, conversation] of seeded.entries()) await age(database, [conversation], 30 + i);

    expect(await retain(database, "1 day", 2)).toBe(4);
    // Oldest first: the last two seeded ended earliest.
    expect(await messageCounts(database, seeded)).toEqual([2, 2, 2, 0, 0]);
    expect(await retain(database, "1 day", 2)).toBe(4);
    expect(await retain(database, "1 day", 2)).toBe(2);
    expect(await retain(database, "1 day", 2)).toBe(0);
    expect(await messageCounts(database, seeded)).toEqual([0, 0, 0, 0, 0]);
  });

  it("skips a conversation another transaction holds instead of waiting for it", async ({ database }) => {
    await sweep(database);
    const profileId = uniqueId("locked");
    const [held, free] = await endConversations(database.pool, profileId, [["held by someone"], ["free to go"]]);
    await processEvents(database.pool, [held!.eventId, free!.eventId]);
    await age(database, [held!, free!], 40);
    const holder = await database.pool.connect();
    try {
      await holder.query("begin");
      await holder.query("select 1 from parley.conversations where conversation_id = $1 for update", [held!.conversationId]);
      expect(await retain(database, "1 day")).toBe(1);
      expect(await messageCounts(database, [held!, free!])).toEqual([1, 0]);
    } finally {
      await holder.query("rollback");
      holder.release();
    }
    expect(await retain(database, "1 day")).toBe(1);
  });

  it("rejects bad arguments with 22023 naming them", async ({ database }) => {
    const cases: Array<[string, unknown[], string]> = [
      ["select parley.apply_retention(null)", [], "older_than"],
      ["select parley.apply_retention('-1 day')", [], "older_than"],
      ["select parley.apply_retention('1 day', 0)", [], "batch_size"],
      ["select parley.apply_retention('1 day', 10001)", [], "batch_size"],
    ];
    for (const [text, values, field] of cases) {
      const error = await database.pool.query(text, values).catch((failure: unknown) => failure);
      expect(error).toBeInstanceOf(DatabaseError);
      expect([(error as DatabaseError).code, (error as DatabaseError).column]).toEqual(["22023", field]);
    }
  });
});
