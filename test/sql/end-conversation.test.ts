// The write path's promises, called as any backend would: plain SQL.
import { describe, expect } from "vitest";
import { it, type TestDatabase } from "../support/database.js";
import { conversationPayload, endConversation, sqlRejection, tableCounts, uniqueId } from "../support/fixtures.js";

describe("parley.end_conversation", () => {
  it("stores the conversation, its messages, a PENDING event and a job in one call", async ({ database }) => {
    const payload = conversationPayload();
    const eventId = await endConversation(database.pool, payload);

    const conversation = await database.db.selectFrom("parley.conversations").selectAll()
      .where("conversation_id", "=", payload.conversation_id).executeTakeFirstOrThrow();
    expect(conversation).toMatchObject({
      profile_id: "user_123", bot_type: "TALK", bot_id: "talk_movie_preference", is_active: false,
      message_count: 4,
    });
    expect(Number(conversation.duration_seconds)).toBe(1200);
    const messages = await database.db.selectFrom("parley.messages").select(["seq", "role", "content", "sent_at"])
      .where("conversation_id", "=", payload.conversation_id).orderBy("seq").execute();
    expect(messages.map((m) => [m.seq, m.role, m.content])).toEqual(
      payload.conversation_log.map((m, index) => [index + 1, m.role, m.content]));
    expect(messages[0]!.sent_at!.toISOString()).toBe("2025-11-25T18:00:02.000Z");

    const event = await database.db.selectFrom("parley.conversation_events").selectAll()
      .where("event_id", "=", eventId).executeTakeFirstOrThrow();
    expect(event).toMatchObject({ status: "PENDING", attempt_count: 0, conversation_id: payload.conversation_id });
    const { rows: jobs } = await database.pool.query(
      "select task_identifier, key from graphile_worker.jobs where key = $1", [`parley:event:${eventId}`]);
    expect(jobs).toEqual([{ task_identifier: "process_conversation", key: `parley:event:${eventId}` }]);
  });

  it("is idempotent: the same conversation_id returns the same event id and writes nothing", async ({ database }) => {
    const payload = conversationPayload();
    const first = await endConversation(database.pool, payload);
    const before = await tableCounts(database.db);
    const again = await endConversation(database.pool, { ...payload, conversation_log: [{ role: "user", content: "changed" }] });
    expect(again).toBe(first);
    expect(await tableCounts(database.db)).toEqual(before);
  });

  it("is idempotent under concurrent calls with the same conversation_id", async ({ database }) => {
    const payload = conversationPayload();
    const ids = await Promise.all(Array.from({ length: 8 }, () => endConversation(database.pool, payload)));
    expect(new Set(ids).size).toBe(1);
    const { rows } = await database.pool.query(
      "select count(*)::int as n from parley.conversation_events where conversation_id = $1", [payload.conversation_id]);
    expect(rows[0].n).toBe(1);
  });

  it("accepts user_id as a synonym of profile_id", async ({ database }) => {
    const { profile_id: _, ...rest } = conversationPayload();
    const payload = { ...rest, user_id: "user_synonym" };
    const eventId = await endConversation(database.pool, payload);
    const { rows } = await database.pool.query("select profile_id from parley.conversation_events where event_id = $1", [eventId]);
    expect(rows[0].profile_id).toBe("user_synonym");
  });

  it("runs in the caller's transaction: a rollback leaves nothing behind", async ({ database }) => {
    const before = await tableCounts(database.db);
    const client = await database.pool.connect();
    try {
      await client.query("begin");
      await client.query("select parley.end_conversation($1)", [conversationPayload()]);
      await client.query("rollback");
    } finally {
      client.release();
    }
    expect(await tableCounts(database.db)).toEqual(before);
  });

  const badInputs: Array<[string, Record<string, unknown>, string]> = [
    ["a missing conversation_id", { conversation_id: undefined }, "conversation_id: is required"],
    ["a missing profile_id", { profile_id: undefined }, "profile_id: is required"],
    ["a mistyped profile_id", { profile_id: 42 }, "profile_id: must be a string, got number"],
    ["an unknown bot_type", { bot_type: "CHAT" }, "bot_type: must be one of TALK, GREETING, GAME_ACTIVITY"],
    ["an unknown role", { conversation_log: [{ role: "bot", content: "hi" }] }, "conversation_log[0].role: must be one of user, agent, system"],
    ["a message without content", { conversation_log: [{ role: "user" }] }, "conversation_log[0].content: must be a string"],
    ["end_time before start_time", { end_time: "2025-11-25T17:00:00Z" }, "end_time: is before start_time"],
    ["a timestamp without a zone", { start_time: "2025-11-25T18:00:00" }, "start_time: must be an ISO-8601 timestamp with a time zone"],
    ["an impossible date", { start_time: "2025-02-30T18:00:00Z" }, "start_time: is not a valid date or time"],
    ["a log that is not an array", { conversation_log: { role: "user" } }, "conversation_log: must be an array of messages, got object"],
    ["an unknown field", { sentiment: "happy" }, "sentiment: is not a known field"],
    ["an unknown message field", { conversation_log: [{ role: "user", content: "x", mood: 1 }] }, "conversation_log[0].mood: is not a known field"],
    ["metadata that is not an object", { metadata: [1] }, "metadata: must be an object, got array"],
    ["a repeated message_id", { conversation_log: [{ role: "user", content: "a", message_id: "m1" }, { role: "user", content: "b", message_id: "m1" }] }, "conversation_log[1].message_id: repeats an earlier message_id"],
    ["an oversized payload", { metadata: { blob: "x".repeat(1_100_000) } }, "payload: is 11"],
    ["too many messages", { conversation_log: Array.from({ length: 1001 }, () => ({ role: "user", content: "hi" })) }, "conversation_log: has 1001 messages; the limit is 1000 per call"],
    ["an oversized message", { conversation_log: [{ role: "user", content: "x".repeat(32769) }] }, "conversation_log[0].content: is 32769 characters long; the limit is 32768"],
    ["profile_id and user_id that disagree", { user_id: "someone_else" }, "user_id: differs from profile_id"],
  ];

  for (const [name, change, message] of badInputs) {
    it(`rejects ${name} with SQLSTATE 22023 naming the field, and writes nothing`, async ({ database }) => {
      const payload: Record<string, unknown> = { ...conversationPayload(), ...change };
      for (const [key, value] of Object.entries(change)) if (value === undefined) delete payload[key];
      const before = await tableCounts(database.db);
      const error = await sqlRejection(endConversation(database.pool, payload));
      expect(error.code).toBe("22023");
      expect(error.message).toContain(message);
      expect(error.column).toBe(message.split(":")[0]);
      expect(await tableCounts(database.db)).toEqual(before);
    });
  }

  it("names an unknown key of any length by its first 64 characters", async ({ database }) => {
    const key = "k".repeat(5000);
    const error = await sqlRejection(endConversation(database.pool, { ...conversationPayload(), [key]: 1 }));
    expect(error.column).toBe("k".repeat(64));
    expect(error.message.length).toBeLessThan(400);
  });

  it("rejects a payload that is not an object", async ({ database }) => {
    const error = await sqlRejection(endConversation(database.pool, [1, 2]));
    expect(error.code).toBe("22023");
    expect(error.message).toBe("payload: must be a JSON object, got array");
  });

  it("requires conversation_log unless the conversation was started live", async ({ database }) => {
    const { conversation_log: _, ...payload } = conversationPayload();
    const error = await sqlRejection(endConversation(database.pool, payload));
    expect(error.message).toMatch(/^conversation_log: is required/);
  });
});

describe("live conversations", () => {
  const start = (database: TestDatabase, payload: unknown) =>
    database.pool.query<{ id: string }>("select parley.start_conversation($1) as id", [JSON.stringify(payload)]).then((r) => r.rows[0]!.id);
  const append = (database: TestDatabase, id: string, messages: unknown) =>
    database.pool.query<{ n: number }>("select parley.append_messages($1, $2) as n", [id, JSON.stringify(messages)]).then((r) => r.rows[0]!.n);
  const close = (database: TestDatabase, id: string) =>
    database.pool.query<{ event_id: string }>("select parley.close_conversation($1) as event_id", [id]).then((r) => r.rows[0]!.event_id);

  it("start, append and close store the turns in order and queue the event", async ({ database }) => {
    const id = await start(database, { profile_id: "user_live", bot_type: "GREETING", bot_id: "greet_first_hello" });
    expect(id).toMatch(/^conv_[0-9a-f]{32}$/);
    expect(await append(database, id, [{ role: "agent", content: "Hello!" }, { role: "user", content: "Hi there" }])).toBe(2);
    expect(await append(database, id, [{ role: "agent", content: "How are you?" }])).toBe(1);

    const active = await database.db.selectFrom("parley.conversations").selectAll().where("conversation_id", "=", id).executeTakeFirstOrThrow();
    expect(active).toMatchObject({ is_active: true, ended_at: null, message_count: 3 });

    const eventId = await close(database, id);
    expect(await close(database, id)).toBe(eventId);
    const closed = await database.db.selectFrom("parley.conversations").selectAll().where("conversation_id", "=", id).executeTakeFirstOrThrow();
    expect(closed.is_active).toBe(false);
    const contents = await database.db.selectFrom("parley.messages").select("content").where("conversation_id", "=", id).orderBy("seq").execute();
    expect(contents.map((m) => m.content)).toEqual(["Hello!", "Hi there", "How are you?"]);
  });

  it("append_messages with message_id is idempotent on retry", async ({ database }) => {
    const id = await start(database, { profile_id: "user_live", bot_type: "TALK", bot_id: "talk_music_taste" });
    const batch = [{ role: "user", content: "one", message_id: "m1" }, { role: "agent", content: "two", message_id: "m2" }];
    expect(await append(database, id, batch)).toBe(2);
    expect(await append(database, id, batch)).toBe(0);
    expect(await append(database, id, [...batch, { role: "user", content: "three", message_id: "m3" }])).toBe(1);
    const seqs = await database.db.selectFrom("parley.messages").select(["seq", "message_id"]).where("conversation_id", "=", id).orderBy("seq").execute();
    expect(seqs).toEqual([{ seq: 1, message_id: "m1" }, { seq: 2, message_id: "m2" }, { seq: 3, message_id: "m3" }]);
  });

  it("end_conversation without a log ends a started conversation with the messages appended", async ({ database }) => {
    const id = uniqueId("conv_live");
    expect(await start(database, { conversation_id: id, profile_id: "user_live", bot_type: "TALK", bot_id: "talk_music_taste", start_time: "2025-11-25T18:00:00Z" })).toBe(id);
    await append(database, id, [{ role: "user", content: "I play the guitar" }]);
    const { conversation_log: _, ...payload } = conversationPayload({
      conversation_id: id, profile_id: "user_live", bot_id: "talk_music_taste", bot_name: "Music Taste Talk" });
    const eventId = await endConversation(database.pool, payload);
    expect(await endConversation(database.pool, payload)).toBe(eventId);
    const row = await database.db.selectFrom("parley.conversations").selectAll().where("conversation_id", "=", id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ is_active: false, message_count: 1 });
    expect(row.ended_at!.toISOString()).toBe("2025-11-25T18:20:00.000Z");
  });

  it("end_conversation of a live conversation rejects a bot that differs from the one it started with", async ({ database }) => {
    const id = await start(database, { profile_id: "user_live", bot_type: "TALK", bot_id: "talk_music_taste", bot_name: "Music Taste Talk", start_time: "2025-11-25T18:00:00Z" });
    await append(database, id, [{ role: "user", content: "hello" }]);
    const { conversation_log: _, ...base } = conversationPayload({ conversation_id: id, profile_id: "user_live", bot_id: "talk_music_taste", bot_name: "Music Taste Talk" });
    const before = await tableCounts(database.db);
    for (const [field, value] of [["bot_type", "GREETING"], ["bot_id", "talk_food_stories"], ["bot_name", "Another Name"]] as const) {
      const error = await sqlRejection(endConversation(database.pool, { ...base, [field]: value }));
      expect(error.code).toBe("22023");
      expect(error.column).toBe(field);
      expect(error.message).toContain(`was started with`);
    }
    expect(await tableCounts(database.db)).toEqual(before);
    await endConversation(database.pool, base);
  });

  it("appending to an unknown or ended conversation fails with a named error", async ({ database }) => {
    const missing = await sqlRejection(append(database, "conv_does_not_exist", [{ role: "user", content: "x" }]));
    expect(missing.code).toBe("P0002");
    expect(missing.message).toMatch(/^conversation_not_found/);

    const id = await start(database, { profile_id: "user_live", bot_type: "TALK", bot_id: "talk_music_taste" });
    await append(database, id, [{ role: "user", content: "bye" }]);
    await close(database, id);
    const ended = await sqlRejection(append(database, id, [{ role: "user", content: "late" }]));
    expect(ended.code).toBe("55000");
    expect(ended.message).toMatch(/^conversation_ended/);
  });

  it("bad messages in append_messages write nothing", async ({ database }) => {
    const id = await start(database, { profile_id: "user_live", bot_type: "TALK", bot_id: "talk_music_taste" });
    const before = await tableCounts(database.db);
    const error = await sqlRejection(append(database, id, [{ role: "user", content: "fine" }, { role: "robot", content: "no" }]));
    expect(error.code).toBe("22023");
    expect(error.message).toMatch(/^messages\[1\]\.role/);
    expect(await tableCounts(database.db)).toEqual(before);
  });

  it("start_conversation refuses a conversation_id that belongs to another profile", async ({ database }) => {
    const id = await start(database, { profile_id: "user_a", bot_type: "TALK", bot_id: "talk_music_taste" });
    expect(await start(database, { conversation_id: id, profile_id: "user_a", bot_type: "TALK", bot_id: "talk_music_taste" })).toBe(id);
    const error = await sqlRejection(start(database, { conversation_id: id, profile_id: "user_b", bot_type: "TALK", bot_id: "talk_music_taste" }));
    expect(error.code).toBe("22023");
    expect(error.column).toBe("conversation_id");
  });
});

describe("parley.retry_event", () => {
  it("puts a FAILED event back to PENDING with a fresh job; anything else is left alone", async ({ database }) => {
    const eventId = await endConversation(database.pool, conversationPayload());
    const { rows: notFailed } = await database.pool.query("select parley.retry_event($1) as retried", [eventId]);
    expect(notFailed[0].retried).toBe(false);

    await database.pool.query("delete from graphile_worker._private_jobs where key = $1", [`parley:event:${eventId}`]);
    await database.pool.query(
      "update parley.conversation_events set status = 'FAILED', attempt_count = 5, error_code = 'boom' where event_id = $1", [eventId]);
    const { rows } = await database.pool.query("select parley.retry_event($1) as retried", [eventId]);
    expect(rows[0].retried).toBe(true);
    const event = await database.db.selectFrom("parley.conversation_events").selectAll().where("event_id", "=", eventId).executeTakeFirstOrThrow();
    expect(event).toMatchObject({ status: "PENDING", attempt_count: 0, error_code: null });
    const { rows: jobs } = await database.pool.query("select 1 from graphile_worker.jobs where key = $1", [`parley:event:${eventId}`]);
    expect(jobs).toHaveLength(1);

    const missing = await sqlRejection(database.pool.query("select parley.retry_event(999999999)"));
    expect(missing.code).toBe("P0002");
  });
});

describe("parley.pipeline_stats", () => {
  it("counts events per status and reports the oldest pending age", async ({ database }) => {
    const { rows } = await database.pool.query("select * from parley.pipeline_stats");
    const { rows: truth } = await database.pool.query(
      "select count(*) filter (where status = 'PENDING')::int as pending, count(*)::int as total from parley.conversation_events");
    expect(Number(rows[0].pending)).toBe(truth[0].pending);
    expect(Number(rows[0].pending) + Number(rows[0].processing) + Number(rows[0].processed) + Number(rows[0].failed)).toBe(truth[0].total);
    expect(rows[0].oldest_pending_seconds).toBeGreaterThanOrEqual(0);
  });
});
