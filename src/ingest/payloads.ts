// The SQL API's payloads as zod schemas: one per payload, shared by the HTTP
// API (early 400s, the OpenAPI document), the TypeScript client and tests.
// The SQL functions stay the authority: these schemas must never reject what
// the SQL API accepts, so they check shapes and limits, and leave to SQL what
// only it can judge (a real calendar date, end_time after start_time, a
// conversation that already exists for another profile).
import { z } from "zod";
import { BOT_TYPES, ROLES } from "../domain.js";

/**
 * The input limits, as parley._limit(name) enforces them (sql/_limits.sql, the one source);
 * test/ingest/limits.test.ts fails when the two differ.
 */
export const LIMITS = {
  payload_bytes: 1_048_576,
  messages_per_call: 1000,
  payloads_per_call: 1000,
  messages_per_conversation: 10_000,
  content_chars: 32_768,
  id_chars: 200,
  name_chars: 500,
} as const;

/** Length in Unicode code points, as PostgreSQL's length() counts it (JS counts UTF-16 units). */
export function charLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

// Same pattern as parley._timestamp_field: ISO-8601 with an explicit zone.
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}(:?\d{2})?)$/;

const text = (max: number) =>
  z.string()
    .min(1, "must not be empty")
    .refine((value) => charLength(value) <= max, `is longer than ${max} characters`);

const timestamp = z.string()
  .regex(ISO_TIMESTAMP, "must be an ISO-8601 timestamp with a time zone, like 2025-11-25T18:00:00Z")
  .meta({ format: "date-time", example: "2025-11-25T18:00:00Z" });

const metadata = z.record(z.string(), z.unknown()).meta({ description: "Any JSON object." });

/** Any id Parley takes: conversation, profile, bot and message ids. */
export const idSchema = text(LIMITS.id_chars);
export const conversationIdSchema = idSchema.meta({ example: "conv_abc123xyz" });

export const messageSchema = z.strictObject({
  role: z.enum(ROLES),
  content: z.string().refine((value) => charLength(value) <= LIMITS.content_chars,
    `is longer than ${LIMITS.content_chars} characters`),
  timestamp: timestamp.nullish(),
  message_id: idSchema.nullish()
    .meta({ description: "Makes a retried append idempotent: a message_id already stored is skipped." }),
  metadata: metadata.nullish(),
}).meta({ id: "Message" });

const messages = z.array(messageSchema).max(LIMITS.messages_per_call, `has more than ${LIMITS.messages_per_call} messages`);

// profile_id is the user id; user_id is accepted as its synonym.
const profileFields = {
  profile_id: idSchema.nullish().meta({ example: "user_123" }),
  user_id: idSchema.nullish().meta({ description: "Synonym of profile_id." }),
};

function checkProfile(payload: { profile_id?: string | null; user_id?: string | null }, ctx: z.RefinementCtx) {
  if (payload.profile_id == null && payload.user_id == null) {
    ctx.addIssue({ code: "custom", path: ["profile_id"], message: "is required (user_id is accepted as its synonym)" });
  } else if (payload.profile_id != null && payload.user_id != null && payload.profile_id !== payload.user_id) {
    ctx.addIssue({ code: "custom", path: ["user_id"], message: "differs from profile_id; send one of them" });
  }
}

const conversationFields = {
  ...profileFields,
  bot_type: z.enum(BOT_TYPES),
  bot_id: idSchema.meta({ example: "talk_movie_preference" }),
  bot_name: text(LIMITS.name_chars).nullish(),
  metadata: metadata.nullish(),
};

/** parley.end_conversation(payload). */
export const endConversationSchema = z.strictObject({
  conversation_id: conversationIdSchema,
  ...conversationFields,
  start_time: timestamp,
  end_time: timestamp,
  conversation_log: messages.nullish()
    .meta({ description: "May be left out when the messages were appended to a started conversation." }),
}).superRefine(checkProfile).meta({ id: "EndConversationPayload" });
export type EndConversationPayload = z.infer<typeof endConversationSchema>;

/** parley.start_conversation(payload). */
export const startConversationSchema = z.strictObject({
  conversation_id: conversationIdSchema.nullish()
    .meta({ description: "Generated (conv_ + 32 hex digits) when absent." }),
  ...conversationFields,
  start_time: timestamp.nullish().meta({ description: "Defaults to now." }),
}).superRefine(checkProfile).meta({ id: "StartConversationPayload" });
export type StartConversationPayload = z.infer<typeof startConversationSchema>;

/** parley.append_messages(conversation_id, messages). */
export const appendMessagesSchema = messages.meta({ id: "Messages" });
export type AppendMessagesPayload = z.infer<typeof appendMessagesSchema>;

/** Event ids are bigint; they travel as decimal strings so that they round-trip exactly. */
export const eventIdSchema = z.string()
  .regex(/^[1-9]\d{0,18}$/, "must be a positive integer")
  // zod runs this even when the pattern failed.
  .refine((value) => !/^\d+$/.test(value) || BigInt(value) <= 9_223_372_036_854_775_807n, "is out of range")
  .meta({ example: "42" });

/**
 * A zod issue as the SQL API words its rejections: the field path in SQL's
 * notation (conversation_log[0].role) and a problem that names what is wrong.
 * `input` is the value that was validated, to say what a field actually held.
 */
export function describeIssue(issue: z.core.$ZodIssue, input: unknown): { field: string; problem: string } {
  const path: PropertyKey[] = [...issue.path];
  // For an unknown key the path names the key itself, as parley._known_keys does.
  if (issue.code === "unrecognized_keys" && issue.keys[0] !== undefined) {
    path.push(issue.keys[0]);
    return { field: formatPath(path), problem: "is not a known field" };
  }
  const value = valueAt(input, path);
  switch (issue.code) {
    case "invalid_type":
      return {
        field: formatPath(path),
        problem: value === undefined || value === null ? "is required" : `must be ${article(issue.expected)}, got ${jsonType(value)}`,
      };
    case "invalid_value":
      return {
        field: formatPath(path),
        problem: `must be one of ${issue.values.map(String).join(", ")} (got ${typeof value === "string" ? value : jsonType(value)})`,
      };
    default:
      return { field: formatPath(path), problem: issue.message };
  }
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let result = "";
  for (const part of path) {
    if (typeof part === "number") result += `[${part}]`;
    else result += result === "" ? String(part) : `.${String(part)}`;
  }
  return result || "payload";
}

function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let current = input;
  for (const part of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

/** The JSON type of a value, in jsonb_typeof's words. */
function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function article(expected: string): string {
  if (expected === "record") return "an object";
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}
