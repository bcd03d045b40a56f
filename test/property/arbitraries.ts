// Generators for hostile but valid payloads, single faults that make them
// invalid (each naming the field the SQL API must blame), and the exact
// instant a generated timestamp denotes, computed independently of PostgreSQL.
import fc from "fast-check";
import { BOT_TYPES, ROLES, type BotType, type Role } from "../../src/domain.js";
import { LIMITS } from "../../src/ingest/payloads.js";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Text PostgreSQL can store: well-formed UTF-16 and no U+0000 (neither fits a `text`). */
export function storable(text: string): boolean {
  return !LONE_SURROGATE.test(text) && !text.includes("\u0000");
}


export const SQL_FRAGMENTS = [
  "'; drop table parley.conversations; --",
  "\"; delete from parley.messages; --",
  "$$; select pg_sleep(10); $$",
  "' or '1'='1",
  "%s %I %L %%",
  "\\x00\\\\'",
  // The six characters of a JSON escape, not the character: stored verbatim.
  "\\u0000",
  "\\ud800",
  "E'\\n'",
  "null",
  "NULL",
  "{}",
  "[]",
  "\u202eevil\u202c",
  "e\u0301 vs \u00e9",
  "\r\n\t\u000b\u000c\u001f\u007f",
  "😀👩‍👩‍👧‍👦🏳️‍🌈",
  " ",
  "\uFEFF",
  "\uFFFF\uFFFE",
  "𝕳𝖊𝖑𝖑𝖔",
];

/** Any storable text, biased towards control characters, astral planes and SQL fragments. */
export function hostileText(maxLength: number): fc.Arbitrary<string> {
  return fc
    .oneof(
      fc.string({ unit: "binary", maxLength }).filter(storable),
      fc.string({ unit: "grapheme", maxLength }),
      fc.constantFrom(...SQL_FRAGMENTS),
    )
    // A grapheme can hold several code points; limits count code points.
    .filter((text) => [...text].length <= maxLength);
}

const nonEmpty = (maxLength: number) => hostileText(maxLength).filter((text) => text.length > 0);

const jsonValue = fc.jsonValue({ maxDepth: 3, stringUnit: "grapheme" }) as fc.Arbitrary<Json>;
const jsonKey = fc.oneof(fc.string({ unit: "grapheme", maxLength: 12 }), fc.constantFrom("__proto__", "constructor", "", "a.b", "[0]"));
export const jsonObject: fc.Arbitrary<JsonObject> = fc.dictionary(jsonKey, jsonValue, { maxKeys: 5 });

// ---------------------------------------------------------------------------
// Timestamps

export interface GeneratedTime {
  text: string;
  /** Microseconds since 1970-01-01T00:00:00Z: the instant the text denotes. */
  micros: bigint;
}

function isLeap(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

export function daysInMonth(year: number, month: number): number {
  return [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (PostgreSQL's calendar, too). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

const pad = (value: number, width = 2) => String(value).padStart(width, "0");

export interface TimeParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number | null;
  fraction: string | null;
  /** "Z", "z", or an offset in minutes east of UTC with its spelling. */
  zone: "Z" | "z" | { minutes: number; style: "colon" | "compact" | "hours" };
  separator: "T" | " ";
}

export function renderTime(parts: TimeParts): GeneratedTime {
  const { year, month, day, hour, minute, second, fraction, zone, separator } = parts;
  let text = `${pad(year, 4)}-${pad(month)}-${pad(day)}${separator}${pad(hour)}:${pad(minute)}`;
  if (second !== null) text += `:${pad(second)}${fraction === null ? "" : `.${fraction}`}`;
  let offsetMinutes = 0;
  if (typeof zone === "string") {
    text += zone;
  } else {
    offsetMinutes = zone.minutes;
    const sign = zone.minutes < 0 ? "-" : "+";
    const hours = pad(Math.floor(Math.abs(zone.minutes) / 60));
    const minutes = pad(Math.abs(zone.minutes) % 60);
    text += zone.style === "colon" ? `${sign}${hours}:${minutes}` : zone.style === "compact" ? `${sign}${hours}${minutes}` : `${sign}${hours}`;
  }
  const seconds =
    BigInt(daysFromCivil(year, month, day)) * 86400n +
    BigInt(hour * 3600 + minute * 60 + (second ?? 0) - offsetMinutes * 60);
  const micros = second === null || fraction === null ? 0n : BigInt(fraction.padEnd(6, "0"));
  return { text, micros: seconds * 1_000_000n + micros };
}

const zoneArb: fc.Arbitrary<TimeParts["zone"]> = fc.oneof(
  fc.constantFrom<"Z" | "z">("Z", "z"),
  fc
    .record({ hours: fc.integer({ min: 0, max: 14 }), minutes: fc.constantFrom(0, 15, 30, 45, 59), negative: fc.boolean() })
    .map(({ hours, minutes, negative }) => (hours === 14 ? { hours, minutes: 0, negative } : { hours, minutes, negative }))
    .chain(({ hours, minutes, negative }) =>
      fc.constantFrom<"colon" | "compact" | "hours">(...(minutes === 0 ? (["colon", "compact", "hours"] as const) : (["colon", "compact"] as const)))
        .map((style) => ({ minutes: (negative ? -1 : 1) * (hours * 60 + minutes), style })),
    ),
);

/** A valid ISO-8601 timestamp with a zone anywhere in years 0001 to 9999, edges favoured. */
export const timeArb: fc.Arbitrary<GeneratedTime> = fc
  .record({
    year: fc.oneof(fc.constantFrom(1, 2, 1582, 1899, 1969, 1970, 2000, 2024, 2038, 9998, 9999), fc.integer({ min: 1, max: 9999 })),
    month: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 31 }),
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    second: fc.option(fc.integer({ min: 0, max: 59 }), { nil: null }),
    fraction: fc.option(fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: 1, maxLength: 6 }), { nil: null }),
    zone: zoneArb,
    separator: fc.constantFrom<"T" | " ">("T", " "),
  })
  .map((parts) => renderTime({ ...parts, day: Math.min(parts.day, daysInMonth(parts.year, parts.month)) }));

/** Strings that are not an ISO-8601 timestamp with a zone, or not a real date. */
export const BAD_TIMESTAMPS = [
  "",
  "now",
  "epoch",
  "infinity",
  "2025-11-25",
  "2025-11-25T18:00:00",
  "18:00:00Z",
  "2025-11-25t18:00:00Z",
  "2025-11-25T18:00:00.1234567Z",
  "2025-11-25T18:00:00 Z",
  "+2025-11-25T18:00:00Z",
  "25-11-25T18:00:00Z",
  "12025-11-25T18:00:00Z",
  "0000-01-01T00:00:00Z",
  "2025-13-01T00:00:00Z",
  "2025-02-29T00:00:00Z",
  "2025-04-31T00:00:00Z",
  "2025-01-01T25:00:00Z",
  "2025-01-01T23:60:00Z",
  "2025-01-01T24:00:01Z",
  "2025-01-01T10:00:00+16:00",
  "2025-01-01T10:00:00+05:75",
  "2025-11-25T18:00:00Z'; drop table parley.conversations; --",
  "١٢٣٤-01-01T00:00:00Z",
];

// ---------------------------------------------------------------------------
// Payloads

export interface GeneratedMessage {
  role: Role;
  content: string;
  timestamp?: GeneratedTime | null;
  message_id?: string | null;
  metadata?: JsonObject | null;
}

export interface GeneratedPayload {
  conversation_id: string;
  profile: { profile_id?: string; user_id?: string };
  bot_type: BotType;
  bot_id: string;
  bot_name?: string | null;
  start: GeneratedTime;
  end: GeneratedTime;
  messages: GeneratedMessage[];
  metadata?: JsonObject | null;
}

/** The JSON a caller sends for a generated payload. */
export function payloadJson(generated: GeneratedPayload): JsonObject {
  const payload: JsonObject = {
    conversation_id: generated.conversation_id,
    ...generated.profile,
    bot_type: generated.bot_type,
    bot_id: generated.bot_id,
    start_time: generated.start.text,
    end_time: generated.end.text,
    conversation_log: generated.messages.map(messageJson),
  };
  if (generated.bot_name !== undefined) payload.bot_name = generated.bot_name;
  if (generated.metadata !== undefined) payload.metadata = generated.metadata;
  return payload;
}

export function messageJson(message: GeneratedMessage): JsonObject {
  const json: JsonObject = { role: message.role, content: message.content };
  if (message.timestamp !== undefined) json.timestamp = message.timestamp === null ? null : message.timestamp.text;
  if (message.message_id !== undefined) json.message_id = message.message_id;
  if (message.metadata !== undefined) json.metadata = message.metadata;
  return json;
}

/** Ids up to their length limit, counted in code points, not UTF-16 units. */
export const idArb = fc.oneof(
  { weight: 4, arbitrary: nonEmpty(40) },
  { weight: 1, arbitrary: fc.constantFrom("😀".repeat(LIMITS.id_chars), "x".repeat(LIMITS.id_chars), "é".repeat(LIMITS.id_chars - 1) + "😀") },
);

const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(fc.option(arb, { nil: null }), { nil: undefined });

export const messageArb: fc.Arbitrary<GeneratedMessage> = fc.record(
  {
    role: fc.constantFrom<Role>(...ROLES),
    content: fc.oneof({ weight: 6, arbitrary: hostileText(200) }, { weight: 1, arbitrary: fc.constantFrom("x".repeat(LIMITS.content_chars), "😀".repeat(LIMITS.content_chars)) }),
    timestamp: optional(timeArb),
    message_id: optional(idArb),
    metadata: optional(jsonObject),
  },
  { requiredKeys: ["role", "content"] },
);

/** message_ids unique within the call, as a valid call needs. */
export function uniqueMessageIds(messages: GeneratedMessage[]): GeneratedMessage[] {
  const seen = new Set<string>();
  return messages.map((message) => {
    if (typeof message.message_id !== "string") return message;
    if (seen.has(message.message_id)) return { ...message, message_id: null };
    seen.add(message.message_id);
    return message;
  });
}

export const payloadArb: fc.Arbitrary<GeneratedPayload> = fc
  .record(
    {
      conversation_id: nonEmpty(40),
      profile: idArb.chain((id) =>
        fc.constantFrom<GeneratedPayload["profile"]>({ profile_id: id }, { user_id: id }, { profile_id: id, user_id: id }),
      ),
      bot_type: fc.constantFrom<BotType>(...BOT_TYPES),
      bot_id: idArb,
      bot_name: optional(fc.oneof(nonEmpty(60), fc.constant("n".repeat(LIMITS.name_chars)))),
      times: fc.tuple(timeArb, timeArb),
      messages: fc.array(messageArb, { maxLength: 6 }),
      metadata: optional(jsonObject),
    },
    { requiredKeys: ["conversation_id", "profile", "bot_type", "bot_id", "times", "messages"] },
  )
  .map(({ times, messages, ...rest }) => {
    const [start, end] = times[0].micros <= times[1].micros ? times : [times[1], times[0]];
    return { ...rest, start, end, messages: uniqueMessageIds(messages) };
  });

// ---------------------------------------------------------------------------
// Single faults

export interface Fault {
  name: string;
  /** The field path the rejection must name (SQLSTATE 22023, COLUMN = path). */
  path: string;
  apply(payload: JsonObject): Json;
}

const wrongType = fc.constantFrom<Json>(0, 1.5, -1, true, false, {}, { a: 1 }, [], ["x"]);
const TEXT_LIMITS: Record<string, number> = {
  conversation_id: LIMITS.id_chars, profile_id: LIMITS.id_chars, user_id: LIMITS.id_chars, bot_id: LIMITS.id_chars, bot_name: LIMITS.name_chars,
};
const REQUIRED = ["conversation_id", "bot_type", "bot_id", "start_time", "end_time", "conversation_log"];

const set = (key: string, value: Json) => (payload: JsonObject): Json => ({ ...payload, [key]: value });
const drop = (...keys: string[]) => (payload: JsonObject): Json => {
  const copy = { ...payload };
  for (const key of keys) delete copy[key];
  return copy;
};
const messageSet = (key: string, value: Json) => (message: Json): Json => ({ ...(message as JsonObject), [key]: value });
const messageDrop = (key: string) => (message: Json): Json => {
  const copy = { ...(message as JsonObject) };
  delete copy[key];
  return copy;
};

type Kind = "end" | "start";

/** Faults in the top-level fields of an end_conversation or start_conversation payload. */
export function topLevelFaultArb(kind: Kind): fc.Arbitrary<Fault> {
  const required = kind === "end" ? REQUIRED : ["bot_type", "bot_id"];
  const times = kind === "end" ? ["start_time", "end_time"] : ["start_time"];
  const texts = ["conversation_id", "profile_id", "user_id", "bot_type", "bot_id", "bot_name"];
  const faults: Array<fc.Arbitrary<Fault>> = [
    fc.constantFrom(...required).map((key) => ({ name: `missing ${key}`, path: key, apply: drop(key) })),
    fc.constantFrom(...required.filter((key) => key !== "conversation_log")).map((key) => ({ name: `null ${key}`, path: key, apply: set(key, null) })),
    fc.constant<Fault>({ name: "no profile", path: "profile_id", apply: drop("profile_id", "user_id") }),
    fc.tuple(fc.constantFrom(...texts, ...times), wrongType)
      .map(([key, value]) => ({ name: `${key} is ${JSON.stringify(value)}`, path: key, apply: set(key, value) })),
    fc.constantFrom(...texts).map((key) => ({ name: `empty ${key}`, path: key, apply: set(key, "") })),
    fc.tuple(fc.constantFrom(...Object.keys(TEXT_LIMITS)), fc.constantFrom("x", "😀"))
      .map(([key, unit]) => ({ name: `${key} too long`, path: key, apply: set(key, unit.repeat(TEXT_LIMITS[key]! + 1)) })),
    fc.oneof(fc.constantFrom("talk", "TALK ", "GAME", "x".repeat(33), "'; drop table x; --"), hostileText(20))
      .filter((value) => value !== "" && !(BOT_TYPES as readonly string[]).includes(value))
      .map((value) => ({ name: `bot_type ${JSON.stringify(value)}`, path: "bot_type", apply: set("bot_type", value) })),
    fc.tuple(fc.constantFrom(...times), fc.constantFrom(...BAD_TIMESTAMPS))
      .map(([key, value]) => ({ name: `${key} ${JSON.stringify(value)}`, path: key, apply: set(key, value) })),
    fc.oneof(hostileText(20).map((key) => `x_${key}`), fc.constantFrom("conversationId", "Profile_id", "message", "log", "start_time "))
      .map((key) => ({ name: `unknown key ${JSON.stringify(key)}`, path: key, apply: set(key, 1) })),
    fc.constantFrom<Json>([], "{}", 1, true).map((value) => ({ name: `metadata ${JSON.stringify(value)}`, path: "metadata", apply: set("metadata", value) })),
    fc.constant<Fault>({ name: "user_id differs from profile_id", path: "user_id", apply: (payload) => ({ ...payload, profile_id: "a", user_id: "b" }) }),
  ];
  if (kind === "end") {
    faults.push(
      fc.constant<Fault>({
        name: "end before start",
        path: "end_time",
        apply: (payload) => ({ ...payload, start_time: "2025-11-25T18:20:00Z", end_time: "2025-11-25T18:19:59.999999Z" }),
      }),
      fc.constantFrom<Json>({}, "[]", 1, true).map((value) => ({
        name: `conversation_log ${JSON.stringify(value)}`, path: "conversation_log", apply: set("conversation_log", value),
      })),
    );
  } else {
    faults.push(fc.constantFrom("end_time", "conversation_log").map((key) => ({
      name: `${key} given to start_conversation`, path: key, apply: set(key, key === "end_time" ? "2025-11-25T18:20:00Z" : []),
    })));
  }
  return fc.oneof(...faults);
}

/**
 * Faults inside an array of `count` messages held under `key` of the payload
 * (conversation_log for end_conversation; append_messages' argument is
 * wrapped the same way by its test, with paths under "messages").
 */
export function messageFaultArb(count: number, key = "conversation_log"): fc.Arbitrary<Fault> {
  const setMessage = (index: number, change: (message: Json) => Json) => (payload: JsonObject): Json => {
    const log = [...(payload[key] as Json[])];
    log[index] = change(log[index]!);
    return { ...payload, [key]: log };
  };
  const index = fc.integer({ min: 0, max: count - 1 });
  const at = (i: number, field?: string) => `${key}[${i}]${field ? `.${field}` : ""}`;
  const faults: Array<fc.Arbitrary<Fault>> = [
    fc.tuple(index, fc.constantFrom<Json>(null, "hi", 1, [])).map(([i, value]) => ({
      name: `message ${i} is ${JSON.stringify(value)}`, path: at(i), apply: setMessage(i, () => value),
    })),
    fc.tuple(index, fc.constantFrom("Role", "text", "id", "timestamp ")).map(([i, field]) => ({
      name: `message ${i} unknown key ${field}`, path: at(i, field), apply: setMessage(i, messageSet(field, 1)),
    })),
    fc.tuple(index, fc.constantFrom("role", "content")).map(([i, field]) => ({
      name: `message ${i} without ${field}`, path: at(i, field), apply: setMessage(i, messageDrop(field)),
    })),
    fc.tuple(index, fc.constantFrom<Json>("User", "assistant", "bot", "", "x".repeat(17), 1, null)).map(([i, value]) => ({
      name: `message ${i} role ${JSON.stringify(value)}`, path: at(i, "role"), apply: setMessage(i, messageSet("role", value)),
    })),
    fc.tuple(index, fc.constantFrom<Json>(null, 1, true, [], { text: "hi" }, "x".repeat(32769), "😀".repeat(32769))).map(([i, value]) => ({
      name: `message ${i} content ${JSON.stringify(value).slice(0, 20)}`, path: at(i, "content"), apply: setMessage(i, messageSet("content", value)),
    })),
    fc.tuple(index, fc.constantFrom<Json>(...BAD_TIMESTAMPS, 1, true, {})).map(([i, value]) => ({
      name: `message ${i} timestamp ${JSON.stringify(value)}`, path: at(i, "timestamp"), apply: setMessage(i, messageSet("timestamp", value)),
    })),
    fc.tuple(index, fc.constantFrom<Json>([], "{}", 1, false)).map(([i, value]) => ({
      name: `message ${i} metadata ${JSON.stringify(value)}`, path: at(i, "metadata"), apply: setMessage(i, messageSet("metadata", value)),
    })),
    fc.tuple(index, fc.constantFrom<Json>("", 1, ["m"], "m".repeat(201))).map(([i, value]) => ({
      name: `message ${i} message_id ${JSON.stringify(value).slice(0, 20)}`, path: at(i, "message_id"), apply: setMessage(i, messageSet("message_id", value)),
    })),
  ];
  if (count >= 2) {
    faults.push(
      fc.tuple(index, index).filter(([a, b]) => a !== b).map(([a, b]) => {
        const [first, second] = a < b ? [a, b] : [b, a];
        return {
          name: `messages ${first} and ${second} share a message_id`,
          path: at(second, "message_id"),
          apply: (payload: JsonObject) =>
            setMessage(second, messageSet("message_id", "dup"))(setMessage(first, messageSet("message_id", "dup"))(payload) as JsonObject),
        };
      }),
    );
  }
  return fc.oneof(...faults);
}

/** One fault anywhere in an end_conversation payload with `messageCount` messages. */
export function faultArb(messageCount: number): fc.Arbitrary<Fault> {
  return messageCount === 0 ? topLevelFaultArb("end") : fc.oneof(topLevelFaultArb("end"), messageFaultArb(messageCount));
}
