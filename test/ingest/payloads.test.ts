import { describe, expect, it } from "vitest";
import type { z } from "zod";
import {
  appendMessagesSchema, charLength, describeIssue, endConversationSchema, eventIdSchema, LIMITS, startConversationSchema,
} from "../../src/ingest/payloads.js";
import { contractExample } from "../support/fixtures.js";

function firstProblem(schema: z.ZodType, input: unknown) {
  const result = schema.safeParse(input);
  if (result.success) return undefined;
  return describeIssue(result.error.issues[0]!, input);
}

describe("endConversationSchema", () => {
  it("accepts the contract's example, and user_id for profile_id", () => {
    expect(endConversationSchema.safeParse(contractExample).success).toBe(true);
    const { profile_id: _, ...withoutProfile } = contractExample;
    expect(endConversationSchema.safeParse({ ...withoutProfile, user_id: "user_123" }).success).toBe(true);
  });

  it("names the field at fault in the SQL API's notation", () => {
    const badRole = { ...contractExample, conversation_log: [contractExample.conversation_log![0], { role: "bot", content: "x" }] };
    expect(firstProblem(endConversationSchema, badRole)).toEqual({
      field: "conversation_log[1].role", problem: "must be one of user, agent, system (got bot)",
    });
    expect(firstProblem(endConversationSchema, { ...contractExample, bot_id: 7 })).toEqual({ field: "bot_id", problem: "must be a string, got number" });
    const { bot_id: _, ...missing } = contractExample;
    expect(firstProblem(endConversationSchema, missing)).toEqual({ field: "bot_id", problem: "is required" });
    expect(firstProblem(endConversationSchema, { ...contractExample, mood: "happy" })).toEqual({ field: "mood", problem: "is not a known field" });
    expect(firstProblem(endConversationSchema, { ...contractExample, start_time: "yesterday" })?.field).toBe("start_time");
    expect(firstProblem(endConversationSchema, [])).toEqual({ field: "payload", problem: "must be an object, got array" });
  });

  it("needs profile_id or user_id, and the two must agree", () => {
    const { profile_id: _, ...anonymous } = contractExample;
    expect(firstProblem(endConversationSchema, anonymous)?.field).toBe("profile_id");
    expect(firstProblem(endConversationSchema, { ...contractExample, user_id: "someone_else" })?.field).toBe("user_id");
  });

  it("treats null like an absent optional field, as the SQL functions do", () => {
    expect(endConversationSchema.safeParse({ ...contractExample, bot_name: null, metadata: null, conversation_log: null }).success).toBe(true);
  });
});

describe("limits", () => {
  it("counts characters as PostgreSQL does (code points), so it never rejects what SQL accepts", () => {
    const emoji = "😀".repeat(LIMITS.content_chars);
    expect(emoji.length).toBe(2 * LIMITS.content_chars);
    expect(charLength(emoji)).toBe(LIMITS.content_chars);
    expect(appendMessagesSchema.safeParse([{ role: "user", content: emoji }]).success).toBe(true);
    expect(firstProblem(appendMessagesSchema, [{ role: "user", content: `${emoji}x` }])?.field).toBe("[0].content");
  });

  it("caps a call at 1000 messages", () => {
    const messages = Array.from({ length: LIMITS.messages_per_call + 1 }, () => ({ role: "user", content: "hi" }));
    expect(firstProblem(appendMessagesSchema, messages)?.problem).toMatch(/more than 1000 messages/);
  });
});

describe("startConversationSchema and eventIdSchema", () => {
  it("makes conversation_id and start_time optional when starting", () => {
    expect(startConversationSchema.safeParse({ profile_id: "u", bot_type: "GREETING", bot_id: "greet" }).success).toBe(true);
  });

  it("takes event ids as positive int8 strings", () => {
    expect(eventIdSchema.safeParse("9223372036854775807").success).toBe(true);
    expect(eventIdSchema.safeParse("9223372036854775808").success).toBe(false);
    expect(eventIdSchema.safeParse("0").success).toBe(false);
    expect(eventIdSchema.safeParse("12a").success).toBe(false);
  });
});
