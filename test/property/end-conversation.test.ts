// Hostile input against parley.end_conversation: every generated payload is
// either stored exactly as given or rejected with SQLSTATE 22023 naming the
// field, with nothing written.
import fc from "fast-check";
import { describe, expect } from "vitest";
import { it, type TestDatabase } from "../support/database.js";
import { faultArb, payloadArb, payloadJson, type GeneratedPayload, type Json } from "./arbitraries.js";
import {
  allCounts, asJson, expectedMessages, expectInvalid, expectSameMessages, instant, sqlFailure, storedConversation,
  PROPERTY_TIMEOUT, SHRINK_BUDGET,
} from "./support.js";

let sequence = 0;
/** Each run gets its own conversation_id, or it would replay an earlier run's. */
function fresh(generated: GeneratedPayload): GeneratedPayload {
  return { ...generated, conversation_id: `${generated.conversation_id}#${++sequence}` };
}

async function endConversation(database: TestDatabase, payload: Json): Promise<string> {
  // JSON text, as any client sends it (node-pg would turn a JS array into a PostgreSQL array).
  const { rows } = await database.pool.query<{ id: string }>("select parley.end_conversation($1::jsonb) as id", [JSON.stringify(payload)]);
  return rows[0]!.id;
}

async function expectStoredAsGiven(database: TestDatabase, generated: GeneratedPayload, eventId: string) {
  const stored = await storedConversation(database.pool, generated.conversation_id);
  const profile = generated.profile.profile_id ?? generated.profile.user_id;
  expect(stored.conversation).toBeDefined();
  const conversation = stored.conversation!;
  expect(conversation.conversation_id === generated.conversation_id).toBe(true);
  expect(conversation.profile_id === profile).toBe(true);
  expect(conversation.bot_type).toBe(generated.bot_type);
  expect(conversation.bot_id === generated.bot_id).toBe(true);
  expect(conversation.bot_name).toBe(generated.bot_name ?? null);
  expect(conversation.started).toBe(instant(generated.start));
  expect(conversation.ended).toBe(instant(generated.end));
  expect(conversation.is_active).toBe(false);
  expect(conversation.message_count).toBe(generated.messages.length);
  expect(conversation.metadata).toEqual(asJson(generated.metadata ?? undefined) ?? {});
  expectSameMessages(stored.messages, expectedMessages(generated.messages));
  expect(stored.events).toEqual([{ event_id: eventId, status: "PENDING", profile_id: profile, jobs: 1 }]);
}

describe("parley.end_conversation under generated payloads", () => {
  it("stores every valid payload exactly as given: text byte for byte, instants to the microsecond, JSON deep-equal", { timeout: PROPERTY_TIMEOUT }, async ({ database }) => {
    await fc.assert(
      fc.asyncProperty(payloadArb, async (generated) => {
        const payload = fresh(generated);
        const before = await allCounts(database.pool);
        const eventId = await endConversation(database, payloadJson(payload));
        await expectStoredAsGiven(database, payload, eventId);
        const after = await allCounts(database.pool);
        expect(after).toEqual({
          ...before,
          conversations: before.conversations + 1,
          messages: before.messages + payload.messages.length,
          message_counts: before.message_counts + payload.messages.length,
          events: before.events + 1,
          jobs: before.jobs + 1,
        });
      }),
      { numRuns: 150, ...SHRINK_BUDGET },
    );
  });

  it("rejects a payload with any one fault with SQLSTATE 22023 naming the field, and writes nothing", { timeout: PROPERTY_TIMEOUT }, async ({ database }) => {
    const faulty = payloadArb.chain((generated) => faultArb(generated.messages.length).map((fault) => ({ generated, fault })));
    await fc.assert(
      fc.asyncProperty(faulty, async ({ generated, fault }) => {
        const payload = fault.apply(payloadJson(fresh(generated)));
        const before = await allCounts(database.pool);
        expectInvalid(await sqlFailure(endConversation(database, payload), `end_conversation with ${fault.name}`), fault.path);
        expect(await allCounts(database.pool)).toEqual(before);
      }),
      { numRuns: 250, ...SHRINK_BUDGET },
    );
  });

  it("replaying a conversation_id returns the first event and writes nothing, whatever the replay carries", { timeout: PROPERTY_TIMEOUT }, async ({ database }) => {
    await fc.assert(
      fc.asyncProperty(payloadArb, payloadArb, async (first, second) => {
        const original = fresh(first);
        const eventId = await endConversation(database, payloadJson(original));
        const before = await allCounts(database.pool);
        const replay = { ...second, conversation_id: original.conversation_id, profile: original.profile };
        expect(await endConversation(database, payloadJson(replay))).toBe(eventId);
        expect(await allCounts(database.pool)).toEqual(before);
        await expectStoredAsGiven(database, original, eventId);
      }),
      { numRuns: 40, ...SHRINK_BUDGET },
    );
  });

  it("rejects a replay under another profile with 22023 on profile_id", async ({ database }) => {
    const [generated] = fc.sample(payloadArb, { seed: 4, numRuns: 1 });
    const original = fresh(generated!);
    await endConversation(database, payloadJson(original));
    const before = await allCounts(database.pool);
    const replay = { ...payloadJson(original), profile_id: "someone else", user_id: "someone else" };
    expectInvalid(await sqlFailure(endConversation(database, replay)), "profile_id");
    expect(await allCounts(database.pool)).toEqual(before);
  });
});

describe("parley.end_conversation at the edges", () => {
  const base = (id: string) => ({
    conversation_id: id,
    profile_id: "edge_user",
    bot_type: "TALK",
    bot_id: "talk_edge",
    start_time: "2025-11-25T18:00:00Z",
    end_time: "2025-11-25T18:20:00Z",
    conversation_log: [{ role: "user", content: "hi" }],
  });
  const micros = async (database: TestDatabase, id: string) =>
    (await storedConversation(database.pool, id)).conversation;

  it("round-trips the first and last instants of years 0001 and 9999, whatever the zone", async ({ database }) => {
    const cases: Array<[string, string, string]> = [
      ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "plain edges"],
      // Both ends leave the 0001..9999 range once in UTC: 1 BC and year 10000.
      ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59.999999-14:00", "edges shifted by the widest zones"],
    ];
    for (const [start, end, name] of cases) {
      const id = `edge_years_${name}`;
      await endConversation(database, { ...base(id), start_time: start, end_time: end });
      const stored = await micros(database, id);
      expect(stored?.started, name).toBe(String(-62135596800000000n - (start.endsWith("+14:00") ? 14n * 3600n * 1000000n : 0n)));
      expect(stored?.ended, name).toBe(String(253402300799999999n + (end.endsWith("-14:00") ? 14n * 3600n * 1000000n : 0n)));
    }
  });

  it("takes 24:00 as the next midnight and a 60th second as the next minute, as ISO 8601 and PostgreSQL do", async ({ database }) => {
    await endConversation(database, { ...base("edge_24h"), start_time: "2016-12-31T23:59:60Z", end_time: "2025-01-01T24:00:00Z" });
    const stored = await micros(database, "edge_24h");
    expect(stored?.started).toBe(String(Date.UTC(2017, 0, 1) * 1000));
    expect(stored?.ended).toBe(String(Date.UTC(2025, 0, 2) * 1000));
  });

  it("accepts 1000 messages in one call and rejects 1001 with 22023 on conversation_log", async ({ database }) => {
    const log = (count: number) => Array.from({ length: count }, (_, i) => ({ role: "user", content: `m${i}` }));
    await endConversation(database, { ...base("edge_1000"), conversation_log: log(1000) });
    expect((await micros(database, "edge_1000"))?.message_count).toBe(1000);
    const before = await allCounts(database.pool);
    expectInvalid(await sqlFailure(endConversation(database, { ...base("edge_1001"), conversation_log: log(1001) })), "conversation_log");
    expect(await allCounts(database.pool)).toEqual(before);
  });

  it("accepts a payload of exactly 1 MiB as PostgreSQL renders it, and rejects one byte more", async ({ database }) => {
    const sized = async (database: TestDatabase, id: string, bytes: number) => {
      const payload = { ...base(id), metadata: { pad: "" } };
      const { rows } = await database.pool.query<{ size: number }>("select octet_length($1::jsonb::text) as size", [JSON.stringify(payload)]);
      payload.metadata.pad = "p".repeat(bytes - rows[0]!.size);
      return payload;
    };
    await endConversation(database, await sized(database, "edge_1mib", 1048576));
    expect((await micros(database, "edge_1mib"))?.conversation_id).toBe("edge_1mib");
    const before = await allCounts(database.pool);
    expectInvalid(await sqlFailure(endConversation(database, await sized(database, "edge_1mib_plus", 1048577))), "payload");
    expect(await allCounts(database.pool)).toEqual(before);
  });

  it("stores JSON nested 5000 deep in metadata exactly", async ({ database }) => {
    // Built as text: JSON.stringify itself recurses and runs out of stack first.
    const nested = `${'[{"d":'.repeat(2500)}"bottom"${"}]".repeat(2500)}`;
    const text = JSON.stringify(base("edge_deep")).replace(/}$/, `,"metadata":{"nested":${nested}}}`);
    await database.pool.query("select parley.end_conversation($1::jsonb)", [text]);
    const { rows } = await database.pool.query<{ same: boolean }>(
      "select metadata -> 'nested' = $1::jsonb as same from parley.conversations where conversation_id = 'edge_deep'", [nested]);
    expect(rows).toEqual([{ same: true }]);
  });

  it("takes JSON null as absent for a message's optional fields", async ({ database }) => {
    const log = [{ role: "user", content: "x", timestamp: null, message_id: null, metadata: null }];
    await endConversation(database, { ...base("edge_nulls"), conversation_log: log });
    const stored = await storedConversation(database.pool, "edge_nulls");
    expect(stored.messages).toEqual([{ seq: 1, message_id: null, role: "user", content: "x", sent: null, metadata: null }]);
  });

  it("rejects a message timestamp whose zone PostgreSQL cannot hold with 22023 naming it", async ({ database }) => {
    for (const timestamp of ["2025-01-01T10:00:00+16:00", "2025-01-01T10:00:00+05:75"]) {
      const log: Json[] = [{ role: "user", content: "x" }, { role: "user", content: "y", timestamp }];
      expectInvalid(await sqlFailure(endConversation(database, { ...base(`edge_zone_${timestamp}`), conversation_log: log })), "conversation_log[1].timestamp");
    }
  });

  it("rejects a payload that is not a JSON object, or SQL NULL, with 22023 on payload", async ({ database }) => {
    for (const payload of [[], "text", 1, true, null]) {
      expectInvalid(await sqlFailure(endConversation(database, payload as Json)), "payload");
    }
    expectInvalid(await sqlFailure(database.pool.query("select parley.end_conversation(null)")), "payload");
  });

  it("keeps the last of duplicated JSON keys, as jsonb does before the function sees the payload", async ({ database }) => {
    const text = JSON.stringify(base("edge_dup_keys")).replace('"profile_id":"edge_user"', '"profile_id":"first","profile_id":"last"');
    await database.pool.query("select parley.end_conversation($1::jsonb)", [text]);
    expect((await micros(database, "edge_dup_keys"))?.profile_id).toBe("last");
  });
});
