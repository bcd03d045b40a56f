// The TypeScript client against the real SQL API: return values, error
// mapping, and that the zod schemas never disagree with the SQL functions.
import { describe, expect } from "vitest";
import pg from "pg";
import { it } from "../support/database.js";
import {
  appendMessages, closeConversation, endConversation, retryEvent, startConversation,
} from "../../src/ingest/client.js";
import { ParleyError } from "../../src/ingest/errors.js";
import { describeIssue, endConversationSchema } from "../../src/ingest/payloads.js";
import { contractExample, rejected } from "../support/fixtures.js";

const rejection = (promise: Promise<unknown>) => rejected(promise, ParleyError);

describe("the SQL API client", () => {
  it("ends a conversation and returns the same event id when it is sent again", async ({ database }) => {
    const payload = { ...contractExample, conversation_id: "client_end" };
    const first = await endConversation(database.pool, payload);
    expect(first).toMatch(/^\d+$/);
    expect(await endConversation(database.db, payload)).toBe(first);
  });

  it("runs a live conversation: start, append (idempotent by message_id), close", async ({ database }) => {
    const id = await startConversation(database.pool, { profile_id: "client_user", bot_type: "TALK", bot_id: "talk_music_taste" });
    expect(id).toMatch(/^conv_[0-9a-f]{32}$/);
    const messages = [{ role: "user" as const, content: "hello", message_id: "m1" }];
    expect(await appendMessages(database.pool, id, messages)).toBe(1);
    expect(await appendMessages(database.pool, id, messages)).toBe(0);
    const eventId = await closeConversation(database.pool, id);
    expect(await closeConversation(database.pool, id)).toBe(eventId);
    expect(await retryEvent(database.pool, eventId)).toBe(false);
  });

  it("runs in the caller's transaction", async ({ database }) => {
    const client = await database.pool.connect();
    try {
      await client.query("begin");
      await endConversation(client, { ...contractExample, conversation_id: "client_rolled_back" });
      await client.query("rollback");
    } finally {
      client.release();
    }
    const { rows } = await database.pool.query("select 1 from parley.conversations where conversation_id = 'client_rolled_back'");
    expect(rows).toHaveLength(0);
  });

  it("turns the SQL API's errors into ParleyErrors with the field", async ({ database }) => {
    const invalid = await rejection(endConversation(database.pool, { ...contractExample, conversation_id: "client_bad", end_time: "2025-11-25T17:00:00Z" }));
    expect(invalid.toJSON()).toMatchObject({ code: "invalid_payload", field: "end_time" });
    expect((await rejection(appendMessages(database.pool, "client_missing", []))).code).toBe("conversation_not_found");
    expect((await rejection(appendMessages(database.pool, "client_end", [{ role: "user", content: "late" }]))).code).toBe("conversation_ended");
    expect((await rejection(retryEvent(database.pool, "999999999"))).code).toBe("event_not_found");
    const big = "x".repeat(30_000);
    const tooLarge = await rejection(endConversation(database.pool, {
      ...contractExample, conversation_id: "client_big",
      conversation_log: Array.from({ length: 40 }, () => ({ role: "user" as const, content: big })),
    }));
    expect(tooLarge.toJSON()).toMatchObject({ code: "payload_too_large", field: "payload" });
  });

  it("says database_unavailable when PostgreSQL cannot be reached", async ({ database }) => {
    const unreachable = new pg.Pool({ connectionString: "postgres://postgres@127.0.0.1:1/postgres", connectionTimeoutMillis: 2000 });
    try {
      const error = await rejection(endConversation(unreachable, contractExample));
      expect(error.toJSON()).toEqual({ code: "database_unavailable", message: "the database is unavailable; retry shortly" });
    } finally {
      await unreachable.end();
    }
  });
});

describe("zod schemas against the SQL API, the authority", () => {
  // Each variant of the contract example: zod must accept what SQL accepts,
  // and reject what SQL rejects, naming the same field.
  const variants: Array<[string, Record<string, unknown>]> = [
    ["as is", {}],
    ["user_id instead of profile_id", { profile_id: undefined, user_id: "user_123" }],
    ["no profile", { profile_id: undefined }],
    ["profile and user differ", { user_id: "other" }],
    ["unknown bot_type", { bot_type: "CHAT" }],
    ["bot_id a number", { bot_id: 5 }],
    ["empty bot_id", { bot_id: "" }],
    ["bot_name null", { bot_name: null }],
    ["long bot_name", { bot_name: "n".repeat(501) }],
    ["zoneless start_time", { start_time: "2025-11-25T18:00:00" }],
    ["offset end_time", { end_time: "2025-11-25T20:20:00+02:00" }],
    ["metadata an array", { metadata: [] }],
    ["unknown field", { mood: "happy" }],
    ["log not an array", { conversation_log: {} }],
    ["bad role", { conversation_log: [{ role: "bot", content: "x" }] }],
    ["content not a string", { conversation_log: [{ role: "user", content: 5 }] }],
    ["empty content", { conversation_log: [{ role: "user", content: "" }] }],
    ["unknown message field", { conversation_log: [{ role: "user", content: "x", mood: 1 }] }],
    ["message timestamp with offset", { conversation_log: [{ role: "user", content: "x", timestamp: "2025-11-25 18:00:02+0100" }] }],
    ["message metadata a string", { conversation_log: [{ role: "user", content: "x", metadata: "m" }] }],
    ["message_id repeated in a call", { conversation_log: [{ role: "user", content: "x", message_id: "a" }, { role: "user", content: "y", message_id: "a" }] }],
  ];

  it.for(variants)("%s", async ([name, change], { database }) => {
    const payload: Record<string, unknown> = { ...contractExample, conversation_id: `parity_${name.replace(/\W+/g, "_")}`, ...change };
    for (const key of Object.keys(payload)) if (payload[key] === undefined) delete payload[key];
    const client = await database.pool.connect();
    let sqlField: string | null = null;
    try {
      await client.query("begin");
      await endConversation(client, payload as never).catch((error: unknown) => {
        if (!(error instanceof ParleyError)) throw error;
        sqlField = error.field ?? "?";
      });
    } finally {
      await client.query("rollback");
      client.release();
    }
    const parsed = endConversationSchema.safeParse(payload);
    const zodField = parsed.success ? null : describeIssue(parsed.error.issues[0]!, payload).field;
    if (sqlField === null) {
      expect(zodField, "zod rejects what SQL accepts").toBeNull();
    } else if (zodField !== null) {
      expect(zodField).toBe(sqlField);
    }
  });
});
