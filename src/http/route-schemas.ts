// The schemas of the HTTP API's routes: parameters, queries and responses. Request payloads
// are the SQL API's, in src/ingest/payloads.ts. Both feed the OpenAPI document.
import { z } from "zod";
import { appendMessagesSchema, conversationIdSchema, eventIdSchema, idSchema } from "../ingest/payloads.js";
import { ERROR_CODES } from "../ingest/errors.js";
import { BOT_TYPES, EVENT_STATUSES, FRIENDSHIP_LEVELS, ROLES } from "../domain.js";
import { eventResultsSchema } from "../event-results.js";

const eventStatus = z.enum(EVENT_STATUSES);
/** A point in time as the API writes it: ISO-8601 in UTC. */
const timestamp = z.string().meta({ format: "date-time" });
const json = z.unknown();
export { eventStatus as eventStatusSchema, timestamp as dateTimeSchema };

export const errorSchema = z.object({
  code: z.enum(ERROR_CODES),
  message: z.string(),
  field: z.string().optional().meta({ description: "The field at fault, in the SQL API's notation (conversation_log[0].role)." }),
}).meta({ id: "Error" });

export const conversationParams = z.strictObject({ conversation_id: conversationIdSchema });
export const eventParams = z.strictObject({ event_id: eventIdSchema });
export const userParams = z.strictObject({ profile_id: idSchema });

export const appendMessagesBody = z.strictObject({ messages: appendMessagesSchema });

export const queuedEventSchema = z.object({
  event_id: z.string(),
  conversation_id: z.string(),
  status: eventStatus,
}).meta({ id: "QueuedEvent" });
export type QueuedEvent = z.infer<typeof queuedEventSchema>;

export const startedConversationSchema = z.object({
  conversation_id: z.string(),
}).meta({ id: "StartedConversation" });

export const appendedSchema = z.object({
  conversation_id: z.string(),
  appended: z.number().int().meta({ description: "How many messages were new (a repeated message_id is skipped)." }),
}).meta({ id: "AppendedMessages" });

export const retriedSchema = z.object({
  event_id: z.string(),
  retried: z.boolean().meta({ description: "false when the event was not FAILED; nothing changed then." }),
  status: eventStatus,
}).meta({ id: "RetriedEvent" });

export const conversationDetailSchema = z.object({
  conversation: z.object({
    conversation_id: z.string(),
    profile_id: z.string(),
    bot_type: z.enum(BOT_TYPES),
    bot_id: z.string(),
    bot_name: z.string().nullable(),
    started_at: timestamp,
    ended_at: timestamp.nullable(),
    is_active: z.boolean(),
    duration_seconds: z.number().nullable(),
    message_count: z.number().int(),
    metadata: json,
  }),
  messages: z.array(z.object({
    seq: z.number().int(),
    message_id: z.string().nullable(),
    role: z.enum(ROLES),
    content: z.string(),
    timestamp: timestamp.nullable(),
    metadata: json,
  })),
  event: z.object({
    event_id: z.string(),
    status: eventStatus,
    attempt_count: z.number().int(),
    created_at: timestamp,
    last_attempt_at: timestamp.nullable(),
    next_attempt_at: timestamp,
    processed_at: timestamp.nullable(),
    error_code: z.string().nullable(),
    error_details: z.string().nullable(),
    results: eventResultsSchema.nullable().meta({ description: "Set once the event is PROCESSED." }),
  }).nullable().meta({ description: "null while the conversation is still open." }),
}).meta({ id: "ConversationDetail" });
export type ConversationDetail = z.infer<typeof conversationDetailSchema>;

const rankedAgent = z.object({ agent_id: z.string(), name: z.string(), score: z.number() });

export const userStateSchema = z.object({
  profile_id: z.string(),
  friendship_status: z.object({
    friendship_score: z.number(),
    friendship_level: z.enum(FRIENDSHIP_LEVELS),
    topic_metrics: json,
    conversation_count: z.number().int(),
    last_event_id: z.string().nullable(),
    updated_at: timestamp.nullable(),
  }).meta({ description: "A user with no processed conversation is a PHASE1_STRANGER with score 0." }),
  agent_candidates: z.object({
    greeting_agent: rankedAgent.nullable(),
    talk_candidates: z.array(rankedAgent),
    game_candidates: z.array(rankedAgent),
    computed_at: timestamp,
    expires_at: timestamp,
    expired: z.boolean(),
    source_event_id: z.string().nullable(),
  }).nullable().meta({ description: "null until a conversation of the user was processed." }),
}).meta({ id: "UserState" });
export type UserState = z.infer<typeof userStateSchema>;

export const healthSchema = z.object({
  status: z.enum(["ok", "degraded", "unavailable"])
    .meta({ description: "degraded: the database answers but no worker has sent a heartbeat recently." }),
  database: z.object({ reachable: z.boolean(), latency_ms: z.number().nullable() }),
  queue: z.object({
    pending: z.number().int(),
    processing: z.number().int(),
    failed: z.number().int(),
    oldest_pending_seconds: z.number().nullable(),
  }).nullable(),
  workers: z.array(z.object({
    worker_id: z.string(),
    hostname: z.string(),
    pid: z.number().int(),
    started_at: timestamp,
    last_seen_at: timestamp,
    seconds_since_seen: z.number(),
    alive: z.boolean(),
  })),
  event_stream: z.object({ listening: z.boolean(), clients: z.number().int() }),
}).meta({ id: "Health" });
export type Health = z.infer<typeof healthSchema>;

export const streamQuery = z.strictObject({
  profile_id: idSchema.optional(),
  user_id: idSchema.optional().meta({ description: "Synonym of profile_id." }),
  conversation_id: conversationIdSchema.optional(),
  last_event_id: z.string().optional()
    .meta({ description: "Resume cursor for clients that cannot send the Last-Event-ID header; the header wins." }),
});

/** Error responses to document for a route, by status. */
export function errorResponses(...statuses: number[]) {
  return Object.fromEntries(statuses.map((status) => [status, errorSchema])) as Record<number, typeof errorSchema>;
}

// A user's memory and data: GET /v1/users/:profile_id/search, DELETE /v1/users/:profile_id.
export const searchQuery = z.strictObject({
  q: z.string().trim().min(1).max(1000).meta({ description: "Words to find; also embedded with the configured embedder for the vector half of the search." }),
  k: z.coerce.number().int().min(1).max(100).default(10).meta({ description: "How many results, best first (1 to 100)." }),
  from: timestamp.optional().meta({ description: "Only conversations that ended at or after this ISO-8601 time." }),
  to: timestamp.optional().meta({ description: "Only conversations that ended at or before this ISO-8601 time." }),
  bot_type: z.enum(BOT_TYPES).optional(),
  bot_id: idSchema.optional(),
});
export type SearchQuery = z.infer<typeof searchQuery>;

export const searchResultSchema = z.object({
  profile_id: z.string(),
  query: z.string(),
  mode: z.enum(["hybrid", "keyword"])
    .meta({ description: "keyword when the embedder could not embed the query (the log says why); the words were searched alone." }),
  results: z.array(z.object({
    conversation_id: z.string(),
    score: z.number().meta({ description: "Reciprocal rank fusion: the sum of 1 / (60 + rank) over the keyword and vector rankings." }),
    ended_at: timestamp.nullable(),
    started_at: timestamp,
    bot_type: z.enum(BOT_TYPES),
    bot_id: z.string(),
    snippet: z.string().nullable().meta({ description: "The best-matching message (its words around the match when long); null once retention deleted the messages." }),
    snippet_seq: z.number().int().nullable(),
    keyword_rank: z.number().int().nullable(),
    vector_rank: z.number().int().nullable(),
  })),
}).meta({ id: "SearchResults" });
export type SearchResults = z.infer<typeof searchResultSchema>;

export const forgottenSchema = z.object({
  conversations: z.number().int(),
  messages: z.number().int(),
  events: z.number().int(),
  event_changes: z.number().int().meta({ description: "Entries of the events in the change log behind the live stream." }),
  embeddings: z.number().int(),
  cached_embeddings: z.number().int(),
  jobs: z.number().int(),
  friendship_status: z.number().int(),
  agent_candidates: z.number().int(),
}).meta({ id: "ForgottenCounts", description: "Rows deleted, per kind (parley.forget_user). All zero for a user Parley never saw." });
export type Forgotten = z.infer<typeof forgottenSchema>;
