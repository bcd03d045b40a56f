// Hostile input against the live functions: start_conversation, then batches
// of append_messages (valid or with one fault, message_ids drawn from a small
// pool so retries and repeats happen), then close_conversation or
// end_conversation. Checked against a model: what was sent, minus messages
// whose message_id was already stored; every fault rejected with 22023 on its
// field and nothing written.
import fc from "fast-check";
import { LIMITS } from "../../src/ingest/payloads.js";
import { describe, expect } from "vitest";
import { it, type TestDatabase } from "../support/database.js";
import {
  hostileText, idArb, jsonObject, messageFaultArb, messageJson, payloadArb, timeArb, topLevelFaultArb, uniqueMessageIds,
  type Fault, type GeneratedMessage, type Json, type JsonObject,
} from "./arbitraries.js";
import {
  allCounts, asJson, expectedMessages, expectInvalid, expectSameMessages, instant, sqlFailure, storedConversation,
  PROPERTY_TIMEOUT, SHRINK_BUDGET,
} from "./support.js";

/** The live functions of the SQL API on the test's database. */
function liveApi(database: TestDatabase) {
  const call = async <T>(text: string, params: unknown[]): Promise<T> => {
    const { rows } = await database.pool.query<{ result: T }>(text, params);
    return rows[0]!.result;
  };
  return {
    start: (payload: Json) => call<string>("select parley.start_conversation($1::jsonb) as result", [JSON.stringify(payload)]),
    append: (id: string, messages: Json) => call<number>("select parley.append_messages($1, $2::jsonb) as result", [id, JSON.stringify(messages)]),
    close: (id: string) => call<string>("select parley.close_conversation($1) as result", [id]),
    end: (payload: Json) => call<string>("select parley.end_conversation($1::jsonb) as result", [JSON.stringify(payload)]),
  };
}

const liveMessageArb: fc.Arbitrary<GeneratedMessage> = fc.record(
  {
    role: fc.constantFrom<"user" | "agent" | "system">("user", "agent", "system"),
    content: hostileText(100),
    timestamp: fc.option(timeArb, { nil: undefined }),
    // A small pool: later batches repeat earlier ids, as a retrying client does.
    message_id: fc.option(fc.constantFrom("a", "b", "c", "😀", "'; --", "m".repeat(LIMITS.id_chars)), { nil: undefined }),
    metadata: fc.option(jsonObject, { nil: undefined }),
  },
  { requiredKeys: ["role", "content"] },
);

interface Batch {
  messages: GeneratedMessage[];
  fault: Fault | null;
}
const batchArb: fc.Arbitrary<Batch> = fc.array(liveMessageArb, { maxLength: 5 }).map(uniqueMessageIds).chain((messages) =>
  fc.record({
    messages: fc.constant(messages),
    fault: messages.length === 0
      ? fc.constant(null)
      : fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: messageFaultArb(messages.length, "messages") }),
  }),
);

const startArb = payloadArb.chain((generated) =>
  fc.record({
    generated: fc.constant(generated),
    givesId: fc.boolean(),
    givesStart: fc.boolean(),
    fault: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: topLevelFaultArb("start") }),
  }),
);

let sequence = 0;

describe("live conversations under generated input", () => {
  it("store exactly what was appended, skip repeated message_ids, and reject any one fault writing nothing", { timeout: PROPERTY_TIMEOUT }, async ({ database }) => {
    const { start, append, close, end } = liveApi(database);
    await fc.assert(
      fc.asyncProperty(startArb, fc.array(batchArb, { minLength: 1, maxLength: 5 }), fc.boolean(), async (starting, batches, endWithPayload) => {
        const { generated, givesId, givesStart } = starting;
        const conversationId = `${generated.conversation_id}#live${++sequence}`;
        const payload: JsonObject = { ...generated.profile, bot_type: generated.bot_type, bot_id: generated.bot_id };
        if (givesId) payload.conversation_id = conversationId;
        if (givesStart) payload.start_time = generated.start.text;
        if (generated.bot_name !== undefined) payload.bot_name = generated.bot_name;
        if (generated.metadata !== undefined) payload.metadata = generated.metadata;

        if (starting.fault) {
          const before = await allCounts(database.pool);
          expectInvalid(await sqlFailure(start(starting.fault.apply(payload)), `start with ${starting.fault.name}`), starting.fault.path);
          expect(await allCounts(database.pool)).toEqual(before);
          return;
        }

        const id = await start(payload);
        if (givesId) {
          expect(id === conversationId).toBe(true);
          const again = await allCounts(database.pool);
          expect(await start(payload)).toBe(id);
          expect(await allCounts(database.pool)).toEqual(again);
        } else {
          expect(id).toMatch(/^conv_[0-9a-f]{32}$/);
        }

        const opened = (await storedConversation(database.pool, id)).conversation!;
        expect(opened.profile_id === (generated.profile.profile_id ?? generated.profile.user_id)).toBe(true);
        expect(opened.bot_id === generated.bot_id).toBe(true);
        expect(opened.bot_name).toBe(generated.bot_name ?? null);
        if (givesStart) expect(opened.started).toBe(instant(generated.start));
        expect(opened.is_active).toBe(true);
        expect(opened.metadata).toEqual(asJson(generated.metadata ?? undefined) ?? {});

        const model: GeneratedMessage[] = [];
        for (const batch of batches) {
          const json = batch.messages.map(messageJson);
          const before = await allCounts(database.pool);
          if (batch.fault) {
            const faulty = (batch.fault.apply({ messages: json }) as JsonObject).messages!;
            expectInvalid(await sqlFailure(append(id, faulty), `append with ${batch.fault.name}`), batch.fault.path);
            expect(await allCounts(database.pool)).toEqual(before);
            continue;
          }
          const stored = new Set(model.map((message) => message.message_id).filter((messageId) => typeof messageId === "string"));
          const fresh = batch.messages.filter((message) => typeof message.message_id !== "string" || !stored.has(message.message_id));
          expect(await append(id, json)).toBe(fresh.length);
          model.push(...fresh);
        }
        const stored = await storedConversation(database.pool, id);
        expectSameMessages(stored.messages, expectedMessages(model));
        expect(stored.conversation!.message_count).toBe(model.length);

        const before = await allCounts(database.pool);
        let eventId: string;
        if (endWithPayload) {
          // The started conversation's own fields: see README on what a differing field does.
          const endTime = givesStart ? generated.end.text : "9999-12-31T23:59:59Z";
          eventId = await end({ ...payload, conversation_id: id, start_time: payload.start_time ?? "1970-01-01T00:00:00Z", end_time: endTime });
          expect((await storedConversation(database.pool, id)).conversation!.ended).toBe(
            givesStart ? instant(generated.end) : "253402300799000000");
        } else {
          eventId = await close(id);
        }
        expect(await close(id)).toBe(eventId);
        expect(await allCounts(database.pool)).toEqual({ ...before, events: before.events + 1, jobs: before.jobs + 1 });
        const closed = await storedConversation(database.pool, id);
        expect(closed.conversation!.is_active).toBe(false);
        expect(BigInt(closed.conversation!.ended!) >= BigInt(closed.conversation!.started)).toBe(true);
        expect(closed.events).toMatchObject([{ event_id: eventId, status: "PENDING", jobs: 1 }]);

        const after = await allCounts(database.pool);
        const late = await sqlFailure(append(id, [{ role: "user", content: "late" }]));
        expect(late).toMatchObject({ code: "55000", column: "conversation_id" });
        expect(await allCounts(database.pool)).toEqual(after);
      }),
      { numRuns: 60, ...SHRINK_BUDGET },
    );
  });
});

describe("live functions at the edges", () => {
  it("append_messages names a missing conversation (P0002) and bad arguments (22023) and writes nothing", async ({ database }) => {
    const { start, append } = liveApi(database);
    const before = await allCounts(database.pool);
    expect(await sqlFailure(append("no such conversation", []))).toMatchObject({ code: "P0002", column: "conversation_id" });
    expectInvalid(await sqlFailure(append("", [])), "conversation_id");
    const id = await start({ profile_id: "edge", bot_type: "TALK", bot_id: "b" });
    const opened = await allCounts(database.pool);
    expect(opened.conversations).toBe(before.conversations + 1);
    for (const bad of [null, {}, "[]", 1]) expectInvalid(await sqlFailure(append(id, bad)), "messages");
    expectInvalid(await sqlFailure(database.pool.query("select parley.append_messages($1, null)", [id])), "messages");
    expect(await allCounts(database.pool)).toEqual(opened);
  });

  it("checks every timestamp of a batch, also of messages skipped because their message_id is stored", async ({ database }) => {
    const { start, append } = liveApi(database);
    const id = await start({ profile_id: "edge", bot_type: "TALK", bot_id: "b" });
    expect(await append(id, [{ role: "user", content: "once", message_id: "m1", timestamp: "2025-01-01T10:00:00Z" }])).toBe(1);
    const before = await allCounts(database.pool);
    for (const timestamp of ["2025-02-30T10:00:00Z", "2025-01-01T10:00:00+05:75", "2025-01-01T10:00:00+16:00"]) {
      expectInvalid(await sqlFailure(append(id, [{ role: "user", content: "once", message_id: "m1", timestamp }])), "messages[0].timestamp");
    }
    expect(await allCounts(database.pool)).toEqual(before);
  });

  it("start_conversation refuses another profile's conversation_id with 22023 on conversation_id", async ({ database }) => {
    const { start } = liveApi(database);
    const id = await start({ conversation_id: "edge_owned", profile_id: "owner", bot_type: "TALK", bot_id: "b" });
    const before = await allCounts(database.pool);
    expectInvalid(await sqlFailure(start({ conversation_id: id, profile_id: "intruder", bot_type: "TALK", bot_id: "b" })), "conversation_id");
    expect(await allCounts(database.pool)).toEqual(before);
  });

  it("holds 10 000 messages per conversation and rejects the message beyond with 22023 on messages", async ({ database }) => {
    const { start, append } = liveApi(database);
    const id = await start({ profile_id: "edge", bot_type: "TALK", bot_id: "b" });
    const batch = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ role: "user", content: `m${from + i}` }));
    for (let i = 0; i < 10; i++) expect(await append(id, batch(i * 1000, 1000))).toBe(1000);
    const before = await allCounts(database.pool);
    expectInvalid(await sqlFailure(append(id, batch(10_000, 1))), "messages");
    expect(await allCounts(database.pool)).toEqual(before);
  });

  it("rejects a conversation_id of more than 200 code points in every live function", async ({ database }) => {
    const { start } = liveApi(database);
    const long = "😀".repeat(201);
    expectInvalid(await sqlFailure(start({ conversation_id: long, profile_id: "edge", bot_type: "TALK", bot_id: "b" })), "conversation_id");
    const [sampled] = fc.sample(idArb.filter((value) => [...value].length === 200), { seed: 2, numRuns: 1 });
    if (sampled) expect(await start({ conversation_id: sampled, profile_id: "edge", bot_type: "TALK", bot_id: "b" })).toBe(sampled);
  });
});
