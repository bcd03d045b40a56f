// parley.end_conversations: the bulk write path keeps every promise of
// end_conversation, element by element, in one transaction and one enqueue.
import { describe, expect } from "vitest";
import fc from "fast-check";
import pg from "pg";
import { faultArb, payloadArb, payloadJson, type JsonObject } from "../property/arbitraries.js";
import { it, type TestDatabase } from "../support/database.js";
import { conversationPayload, endConversation, sqlRejection, tableCounts, uniqueId } from "../support/fixtures.js";

async function endConversations(database: TestDatabase, payloads: unknown): Promise<string[]> {
  const { rows } = await database.pool.query<{ ids: string[] }>(
    "select parley.end_conversations($1) as ids", [JSON.stringify(payloads)]);
  return rows[0]!.ids;
}

async function eventIdOf(database: TestDatabase, conversationId: string): Promise<string | undefined> {
  const { rows } = await database.pool.query<{ event_id: string }>(
    "select event_id from parley.conversation_events where conversation_id = $1", [conversationId]);
  return rows[0]?.event_id;
}

async function jobsFor(database: TestDatabase, eventIds: readonly string[]): Promise<number> {
  const { rows } = await database.pool.query<{ count: number }>(
    "select count(*)::int as count from graphile_worker.jobs where task_identifier = 'process_conversation' and key = any($1::text[])",
    [eventIds.map((id) => `parley:event:${id}`)]);
  return rows[0]!.count;
}

/** The stored rows of a conversation, without ids and times of writing. */
async function storedRows(database: TestDatabase, conversationId: string) {
  const { rows: [conversation] } = await database.pool.query(
    `select profile_id, bot_type, bot_id, bot_name, started_at, ended_at, is_active, message_count, metadata
     from parley.conversations where conversation_id = $1`, [conversationId]);
  const { rows: messages } = await database.pool.query(
    `select seq, message_id, role, content, sent_at, metadata from parley.messages where conversation_id = $1 order by seq`,
    [conversationId]);
  return { conversation, messages };
}

describe("parley.end_conversations", () => {
  it("stores every payload and returns the event ids in the payloads' order, each with a job", async ({ database }) => {
    const payloads = Array.from({ length: 5 }, () => conversationPayload({ profile_id: uniqueId("user") }));
    const ids = await endConversations(database, payloads);

    expect(ids).toHaveLength(5);
    for (const [i, payload] of payloads.entries()) {
      expect(await eventIdOf(database, payload.conversation_id)).toBe(ids[i]);
      const { conversation, messages } = await storedRows(database, payload.conversation_id);
      expect(conversation).toMatchObject({ profile_id: payload.profile_id, is_active: false, message_count: 4 });
      expect(messages.map((m) => [m.seq, m.role, m.content])).toEqual(
        payload.conversation_log.map((m, index) => [index + 1, m.role, m.content]));
    }
    expect(ids.map(Number)).toEqual([...ids.map(Number)].sort((a, b) => a - b));
    expect(await jobsFor(database, ids)).toBe(5);
  });

  it("stores exactly what end_conversation stores for the same payload", async ({ database }) => {
    const unusual = (id: string) => conversationPayload({
      conversation_id: id,
      user_id: "user_123",
      bot_name: null,
      start_time: "2024-02-29T23:59:59.123456+05:30",
      end_time: "2024-03-01 00:30:00Z",
      metadata: { source: "test", nested: { a: [1, 2] } },
      conversation_log: [
        { role: "system", content: "", message_id: "m1", metadata: { k: "v" } },
        { role: "user", content: "leap day \u00e9\u{1F600}", timestamp: "2024-02-29T12:00:00+15:30", message_id: null },
        { role: "agent", content: "'); drop table parley.messages; --", timestamp: null, metadata: null },
        { role: "user", content: "31st", timestamp: "2025-01-31T08:00:00-0800" },
      ],
    });
    const single = unusual(uniqueId("single"));
    const bulk = unusual(uniqueId("bulk"));
    await endConversation(database.pool, single);
    await endConversations(database, [bulk]);
    expect(await storedRows(database, bulk.conversation_id)).toEqual(await storedRows(database, single.conversation_id));
  });

  it("is idempotent: known conversation_ids return their event and write nothing, new ones are stored", async ({ database }) => {
    const known = conversationPayload();
    const knownId = await endConversation(database.pool, known);
    const fresh = [conversationPayload(), conversationPayload()];
    const before = await tableCounts(database.db);

    const ids = await endConversations(database, [fresh[0], { ...known, conversation_log: [{ role: "user", content: "changed" }] }, fresh[1]]);

    expect(ids[1]).toBe(knownId);
    expect(ids[0]).toBe(await eventIdOf(database, fresh[0]!.conversation_id));
    expect(ids[2]).toBe(await eventIdOf(database, fresh[1]!.conversation_id));
    const after = await tableCounts(database.db);
    expect(after).toEqual({
      conversations: before.conversations! + 2,
      messages: before.messages! + 8,
      events: before.events! + 2,
      jobs: before.jobs! + 2,
    });
    expect((await storedRows(database, known.conversation_id)).messages).toHaveLength(4);

    const again = await endConversations(database, [fresh[0], known, fresh[1]]);
    expect(again).toEqual(ids);
    expect(await tableCounts(database.db)).toEqual(after);
  });

  it("gives the same conversation_id twice in one array one event: the later element is a repeat", async ({ database }) => {
    const first = conversationPayload();
    const repeat = { ...first, conversation_log: [{ role: "user", content: "a different log" }] };
    const before = await tableCounts(database.db);

    const ids = await endConversations(database, [first, conversationPayload(), repeat]);

    expect(ids[2]).toBe(ids[0]);
    expect((await storedRows(database, first.conversation_id)).messages.map((m) => m.content))
      .toEqual(first.conversation_log.map((m) => m.content));
    const after = await tableCounts(database.db);
    expect(after.events).toBe(before.events! + 2);
    expect(after.jobs).toBe(before.jobs! + 2);
  });

  it("rejects a repeat of a conversation_id with another profile, as end_conversation would", async ({ database }) => {
    const first = conversationPayload();
    const before = await tableCounts(database.db);
    const error = await sqlRejection(endConversations(database, [first, { ...first, profile_id: "someone_else" }]));
    expect(error.code).toBe("22023");
    expect(error.message).toBe(`payloads[1].profile_id: conversation ${first.conversation_id} belongs to another profile`);
    expect(await tableCounts(database.db)).toEqual(before);
  });

  // Each bad payload must be refused by the bulk path exactly as by
  // end_conversation (same SQLSTATE, same words, path under payloads[i]),
  // whichever of the fast check and the helpers catches it.
  const badInputs: Array<[string, Record<string, unknown>]> = [
    ["a missing conversation_id", { conversation_id: undefined }],
    ["an empty conversation_id", { conversation_id: "" }],
    ["a missing profile_id", { profile_id: undefined }],
    ["a mistyped profile_id", { profile_id: 42 }],
    ["profile_id and user_id that disagree", { user_id: "someone_else" }],
    ["an unknown bot_type", { bot_type: "CHAT" }],
    ["a null bot_id", { bot_id: null }],
    ["an empty bot_name", { bot_name: "" }],
    ["end_time before start_time", { end_time: "2025-11-25T17:00:00Z" }],
    ["a timestamp without a zone", { start_time: "2025-11-25T18:00:00" }],
    ["an impossible date", { start_time: "2025-02-30T18:00:00Z" }],
    ["29 February outside a leap year", { end_time: "2025-02-29T18:00:00Z" }],
    ["a zone PostgreSQL cannot hold", { end_time: "2025-11-25T18:20:00+16:00" }],
    ["an unknown field", { sentiment: "happy" }],
    ["metadata that is not an object", { metadata: [1] }],
    ["an oversized payload", { metadata: { blob: "x".repeat(1_100_000) } }],
    ["a log that is not an array", { conversation_log: { role: "user" } }],
    ["an unknown role", { conversation_log: [{ role: "bot", content: "hi" }] }],
    ["a role of another type", { conversation_log: [{ role: ["user"], content: "hi" }] }],
    ["a message without content", { conversation_log: [{ role: "user" }] }],
    ["a message that is not an object", { conversation_log: ["hi"] }],
    ["an unknown message field", { conversation_log: [{ role: "user", content: "x", mood: 1 }] }],
    ["a message timestamp without a zone", { conversation_log: [{ role: "user", content: "x", timestamp: "2025-11-25 18:00" }] }],
    ["an impossible message time", { conversation_log: [{ role: "user", content: "x", timestamp: "2025-11-25T24:30:00Z" }] }],
    ["two message timestamps joined by a comma", { conversation_log: [{ role: "user", content: "x", timestamp: "2025-11-25T18:00:00Z,2025-11-25T18:00:01Z" }] }],
    ["a numeric message timestamp", { conversation_log: [{ role: "user", content: "x", timestamp: 1732557600 }] }],
    ["message metadata that is not an object", { conversation_log: [{ role: "user", content: "x", metadata: "m" }] }],
    ["an empty message_id", { conversation_log: [{ role: "user", content: "x", message_id: "" }] }],
    ["a repeated message_id", { conversation_log: [{ role: "user", content: "a", message_id: "m1" }, { role: "user", content: "b", message_id: "m1" }] }],
    ["too many messages", { conversation_log: Array.from({ length: 1001 }, () => ({ role: "user", content: "hi" })) }],
    ["an oversized message", { conversation_log: [{ role: "user", content: "x".repeat(32769) }] }],
  ];

  for (const [name, change] of badInputs) {
    it(`rejects ${name} in any element as end_conversation does, under payloads[i], and writes nothing`, async ({ database }) => {
      const bad: Record<string, unknown> = { ...conversationPayload(), ...change };
      for (const [key, value] of Object.entries(change)) if (value === undefined) delete bad[key];
      const expected = await sqlRejection(endConversation(database.pool, bad));
      expect(expected.code).toBe("22023");

      const before = await tableCounts(database.db);
      const error = await sqlRejection(endConversations(database, [conversationPayload(), conversationPayload(), bad]));
      expect(error.code).toBe("22023");
      const prefix = expected.column === "payload" ? "payloads[2]" : `payloads[2].${expected.column}`;
      expect(error.column).toBe(prefix);
      expect(error.message).toBe(`${prefix}${expected.message.slice(expected.column!.length)}`);
      expect(await tableCounts(database.db)).toEqual(before);
    });
  }

  it("requires conversation_log for a conversation that was not started live", async ({ database }) => {
    const { conversation_log: _, ...payload } = conversationPayload();
    const error = await sqlRejection(endConversations(database, [conversationPayload(), payload]));
    expect(error.column).toBe("payloads[1].conversation_log");
    expect(error.message).toMatch(/^payloads\[1\]\.conversation_log: is required: no conversation/);
  });

  it("rejects what is not an array of payloads, and more than 1000 payloads", async ({ database }) => {
    const notArray = await sqlRejection(endConversations(database, conversationPayload()));
    expect(notArray.code).toBe("22023");
    expect(notArray.message).toBe("payloads: must be an array of payloads, got object");
    const notObject = await sqlRejection(endConversations(database, [conversationPayload(), 7]));
    expect(notObject.message).toBe("payloads[1]: must be a JSON object, got number");
    const tooMany = await sqlRejection(endConversations(database, Array.from({ length: 1001 }, () => ({}))));
    expect(tooMany.message).toBe("payloads: has 1001 payloads; the limit is 1000 per call");
    expect(await endConversations(database, [])).toEqual([]);
  });

  it("ends live conversations like end_conversation, appending the log and queueing them in the same batch", async ({ database }) => {
    const live = conversationPayload();
    await database.pool.query("select parley.start_conversation($1)", [JSON.stringify({
      conversation_id: live.conversation_id, profile_id: live.profile_id, bot_type: live.bot_type, bot_id: live.bot_id,
      start_time: live.start_time,
    })]);
    await database.pool.query("select parley.append_messages($1, $2)", [live.conversation_id, JSON.stringify([{ role: "agent", content: "earlier" }])]);

    const ids = await endConversations(database, [conversationPayload(), live]);

    const { conversation, messages } = await storedRows(database, live.conversation_id);
    expect(conversation).toMatchObject({ is_active: false, message_count: 5 });
    expect(messages.map((m) => m.content)).toEqual(["earlier", ...live.conversation_log.map((m) => m.content)]);
    expect(ids[1]).toBe(await eventIdOf(database, live.conversation_id));
    expect(await jobsFor(database, ids)).toBe(2);
  });

  // The drift this once had: the bulk path ended a live conversation under
  // its old bot where end_conversation refused the changed one. Both now end
  // a stored conversation through one function (sql/_end_existing_conversation.sql).
  describe("rejects for a live conversation exactly what end_conversation rejects", () => {
    const changes: Array<[string, (payload: ReturnType<typeof conversationPayload>) => Record<string, unknown>]> = [
      ["bot_type", (payload) => ({ ...payload, bot_type: "GAME_ACTIVITY" })],
      ["bot_id", (payload) => ({ ...payload, bot_id: "game_movie_quiz" })],
      ["bot_name", (payload) => ({ ...payload, bot_name: "Another Name" })],
      ["profile_id", (payload) => ({ ...payload, profile_id: uniqueId("someone_else") })],
      ["end_time", (payload) => ({ ...payload, end_time: "2000-01-01T00:00:00Z", start_time: "1999-01-01T00:00:00Z" })],
    ];
    for (const [field, change] of changes) {
      it(field, async ({ database }) => {
        const live = conversationPayload({ bot_name: "Movie Preference Talk" });
        await database.pool.query("select parley.start_conversation($1)", [JSON.stringify({
          conversation_id: live.conversation_id, profile_id: live.profile_id, bot_type: live.bot_type, bot_id: live.bot_id,
          bot_name: live.bot_name, start_time: live.start_time,
        })]);
        const before = await tableCounts(database.db);
        const single = await sqlRejection(endConversation(database.pool, change(live)));
        const bulk = await sqlRejection(endConversations(database, [conversationPayload(), change(live)]));
        expect(single).toMatchObject({ code: "22023", column: field });
        expect(bulk).toMatchObject({ code: "22023", column: `payloads[1].${field}` });
        expect(bulk.message).toBe(`payloads[1].${single.message}`);
        expect(await tableCounts(database.db)).toEqual(before);
      });
    }
  });

  it("queues the whole batch with one enqueue (one NOTIFY for all its jobs)", async ({ database }) => {
    const listener = new pg.Client({ connectionString: database.url });
    await listener.connect();
    try {
      const notifications: string[] = [];
      listener.on("notification", (message) => notifications.push(message.payload ?? ""));
      await listener.query('listen "jobs:insert"');
      await endConversations(database, Array.from({ length: 7 }, () => conversationPayload()));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(notifications).toHaveLength(1);
      expect(JSON.parse(notifications[0]!)).toMatchObject({ count: 7 });
    } finally {
      await listener.end();
    }
  });

  it("runs in the caller's transaction: a rollback leaves nothing behind", async ({ database }) => {
    const before = await tableCounts(database.db);
    const client = await database.pool.connect();
    try {
      await client.query("begin");
      await client.query("select parley.end_conversations($1)", [JSON.stringify([conversationPayload(), conversationPayload()])]);
      await client.query("rollback");
    } finally {
      client.release();
    }
    expect(await tableCounts(database.db)).toEqual(before);
  });

  it("concurrent calls with overlapping conversation_ids agree on the event ids", async ({ database }) => {
    const shared = Array.from({ length: 20 }, () => conversationPayload());
    const results = await Promise.all(Array.from({ length: 4 }, (_, i) =>
      endConversations(database, [...(i % 2 === 0 ? shared : [...shared].reverse()), conversationPayload()])));
    const expected = await Promise.all(shared.map((payload) => eventIdOf(database, payload.conversation_id)));
    for (const [i, ids] of results.entries()) {
      const mine = ids.slice(0, 20);
      expect(i % 2 === 0 ? mine : [...mine].reverse()).toEqual(expected);
    }
    expect(await jobsFor(database, expected as string[])).toBe(20);
  });

  // The fast path's checks are conservative copies of end_conversation's
  // rules; generated hostile payloads (test/property's generators) must be
  // stored identically or refused identically by both paths.
  let run = 0;
  it("property: a generated payload is stored by the bulk path exactly as by end_conversation", async ({ database }) => {
    await fc.assert(fc.asyncProperty(payloadArb, async (generated) => {
      run += 1;
      const single = { ...payloadJson(generated), conversation_id: `prop_${run}_single` };
      const bulk = { ...single, conversation_id: `prop_${run}_bulk` };
      await endConversation(database.pool, single);
      await endConversations(database, [conversationPayload(), bulk]);
      expect(await storedRows(database, bulk.conversation_id)).toEqual(await storedRows(database, single.conversation_id));
    }), { numRuns: 100 });
  });

  it("property: a generated bad payload is refused by the bulk path exactly as by end_conversation", async ({ database }) => {
    const faulty = payloadArb.chain((generated) => faultArb(generated.messages.length).map((fault) => ({ generated, fault })));
    await fc.assert(fc.asyncProperty(faulty, async ({ generated, fault }) => {
      run += 1;
      const bad = fault.apply({ ...payloadJson(generated), conversation_id: `prop_${run}_bad` } as JsonObject);
      const expected = await sqlRejection(endConversation(database.pool, bad));
      const error = await sqlRejection(endConversations(database, [conversationPayload(), bad]));
      const prefix = expected.column === "payload" ? "payloads[1]" : `payloads[1].${expected.column}`;
      expect([error.code, error.column, error.message]).toEqual(
        [expected.code, prefix, `${prefix}${expected.message.slice(expected.column!.length)}`]);
    }), { numRuns: 60 });
  });
});
