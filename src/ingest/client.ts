// The TypeScript client of the SQL API: each function calls one SQL function
// and nothing more, so it runs in whatever transaction the caller passes (a
// pg pool or client, a Kysely instance or transaction). PostgreSQL's errors
// come back as ParleyErrors with a stable code and the field at fault.
import { CompiledQuery, type Kysely } from "kysely";
import { fromDatabaseError } from "./errors.js";
import type { AppendMessagesPayload, EndConversationPayload, StartConversationPayload } from "./payloads.js";

/** Anything with pg's query(): a Pool, a PoolClient, a Client. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export type SqlTarget = Queryable | Kysely<any>;

/** Runs one SQL API call that returns a single value as `result`, with PostgreSQL's errors as ParleyErrors. */
export async function call<T>(target: SqlTarget, text: string, values: unknown[]): Promise<T> {
  try {
    const rows = "executeQuery" in target
      ? (await target.executeQuery(CompiledQuery.raw(text, values))).rows
      : (await target.query(text, values)).rows;
    return (rows[0] as { result: T }).result;
  } catch (error) {
    throw fromDatabaseError(error) ?? error;
  }
}

/** parley.end_conversation: returns the event id (a decimal string; int8 can outgrow a JS number). */
export function endConversation(target: SqlTarget, payload: EndConversationPayload): Promise<string> {
  return call(target, "select parley.end_conversation($1::jsonb)::text as result", [JSON.stringify(payload)]);
}

/** parley.start_conversation: returns the conversation id, generated when the payload has none. */
export function startConversation(target: SqlTarget, payload: StartConversationPayload): Promise<string> {
  return call(target, "select parley.start_conversation($1::jsonb) as result", [JSON.stringify(payload)]);
}

/** parley.append_messages: returns how many messages were new. */
export function appendMessages(target: SqlTarget, conversationId: string, messages: AppendMessagesPayload): Promise<number> {
  return call(target, "select parley.append_messages($1, $2::jsonb) as result", [conversationId, JSON.stringify(messages)]);
}

/** parley.close_conversation: returns the event id; closing again returns the same one. */
export function closeConversation(target: SqlTarget, conversationId: string): Promise<string> {
  return call(target, "select parley.close_conversation($1)::text as result", [conversationId]);
}

/** parley.retry_event: true when a FAILED event went back to PENDING, false when it was not FAILED. */
export function retryEvent(target: SqlTarget, eventId: string): Promise<boolean> {
  return call(target, "select parley.retry_event($1::bigint) as result", [eventId]);
}
