// What the API reads, straight from the tables users also read with plain SQL.
import { sql } from "kysely";
import type { Db } from "../db/pool.js";
import { ParleyError } from "../ingest/errors.js";
import { INITIAL_FRIENDSHIP_STATE } from "../pipeline/friendship.js";
import type { ConversationDetail, Health, UserState } from "./route-schemas.js";

// Rows to JSON: timestamps as ISO-8601 strings, numeric columns (strings from pg) as numbers.
const iso = (value: Date) => value.toISOString();
export const isoOrNull = (value: Date | null) => (value === null ? null : value.toISOString());
export const numberOrNull = (value: string | number | null) => (value === null ? null : Number(value));

export async function readConversation(db: Db, conversationId: string): Promise<ConversationDetail> {
  const conversation = await db
    .selectFrom("parley.conversations")
    .selectAll()
    .where("conversation_id", "=", conversationId)
    .executeTakeFirst();
  if (!conversation) {
    throw new ParleyError("conversation_not_found", `no conversation ${conversationId}`, "conversation_id");
  }
  const [messages, event] = await Promise.all([
    db.selectFrom("parley.messages")
      .select(["seq", "message_id", "role", "content", "sent_at", "metadata"])
      .where("conversation_id", "=", conversationId)
      .orderBy("seq")
      .execute(),
    db.selectFrom("parley.conversation_events")
      .selectAll()
      .where("conversation_id", "=", conversationId)
      .executeTakeFirst(),
  ]);
  return {
    conversation: {
      conversation_id: conversation.conversation_id,
      profile_id: conversation.profile_id,
      bot_type: conversation.bot_type,
      bot_id: conversation.bot_id,
      bot_name: conversation.bot_name,
      started_at: iso(conversation.started_at),
      ended_at: isoOrNull(conversation.ended_at),
      is_active: conversation.is_active,
      duration_seconds: numberOrNull(conversation.duration_seconds),
      message_count: conversation.message_count,
      metadata: conversation.metadata,
    },
    messages: messages.map((message) => ({
      seq: message.seq,
      message_id: message.message_id,
      role: message.role,
      content: message.content,
      timestamp: isoOrNull(message.sent_at),
      metadata: message.metadata,
    })),
    event: event
      ? {
          event_id: event.event_id,
          status: event.status,
          attempt_count: event.attempt_count,
          created_at: iso(event.created_at),
          last_attempt_at: isoOrNull(event.last_attempt_at),
          next_attempt_at: iso(event.next_attempt_at),
          processed_at: isoOrNull(event.processed_at),
          error_code: event.error_code,
          error_details: event.error_details,
          results: event.status === "PROCESSED"
            ? {
                friendship_score_change: numberOrNull(event.friendship_score_change),
                new_friendship_level: event.new_friendship_level,
                total_turns: event.total_turns,
                user_initiated_questions: event.user_initiated_questions,
                topic_metrics: event.topic_metrics,
                session_emotion: event.session_emotion,
              }
            : null,
        }
      : null,
  };
}

/** The event's current status, for the answer to a write that returns an event id. */
export async function readEventStatus(db: Db, eventId: string) {
  const event = await db
    .selectFrom("parley.conversation_events")
    .select(["conversation_id", "status"])
    .where("event_id", "=", eventId)
    .executeTakeFirst();
  if (!event) throw new ParleyError("event_not_found", `no event ${eventId}`, "event_id");
  return event;
}

export async function readUserState(db: Db, profileId: string): Promise<UserState> {
  const [status, candidates] = await Promise.all([
    db.selectFrom("parley.friendship_status")
      .selectAll()
      .where("profile_id", "=", profileId)
      .executeTakeFirst(),
    db.selectFrom("parley.agent_candidates")
      .selectAll()
      .select(sql<boolean>`expires_at <= now()`.as("expired"))
      .where("profile_id", "=", profileId)
      .executeTakeFirst(),
  ]);
  return {
    profile_id: profileId,
    friendship_status: status
      ? {
          friendship_score: Number(status.friendship_score),
          friendship_level: status.friendship_level,
          topic_metrics: status.topic_metrics,
          conversation_count: status.conversation_count,
          last_event_id: status.last_event_id,
          updated_at: iso(status.updated_at),
        }
      : {
          // A user with no processed conversation: the columns' defaults (test/db/tables.test.ts).
          ...INITIAL_FRIENDSHIP_STATE,
          conversation_count: 0,
          last_event_id: null,
          updated_at: null,
        },
    agent_candidates: candidates
      ? {
          greeting_agent: candidates.greeting_agent,
          talk_candidates: candidates.talk_candidates,
          game_candidates: candidates.game_candidates,
          computed_at: iso(candidates.computed_at),
          expires_at: iso(candidates.expires_at),
          expired: candidates.expired,
          source_event_id: candidates.source_event_id,
        }
      : null,
  };
}

export async function readHealth(db: Db, staleAfterSeconds: number): Promise<Omit<Health, "status" | "event_stream">> {
  const started = performance.now();
  // Only the columns read are computed, each from its partial index (sql/pipeline_stats.sql).
  const counts = await db.selectFrom("parley.pipeline_stats")
    .select(["pending", "processing", "failed", "oldest_pending_seconds"])
    .executeTakeFirstOrThrow();
  const latency = performance.now() - started;
  const workers = await db
    .selectFrom("parley.worker_heartbeats")
    .selectAll()
    .select(sql<number>`extract(epoch from now() - last_seen_at)::float8`.as("seconds_since_seen"))
    .orderBy("started_at")
    .execute();
  return {
    database: { reachable: true, latency_ms: Math.round(latency * 10) / 10 },
    queue: {
      pending: Number(counts.pending),
      processing: Number(counts.processing),
      failed: Number(counts.failed),
      oldest_pending_seconds: counts.oldest_pending_seconds,
    },
    workers: workers.map((worker) => ({
      worker_id: worker.worker_id,
      hostname: worker.hostname,
      pid: worker.pid,
      started_at: iso(worker.started_at),
      last_seen_at: iso(worker.last_seen_at),
      seconds_since_seen: Math.round(worker.seconds_since_seen * 10) / 10,
      alive: worker.seconds_since_seen <= staleAfterSeconds,
    })),
  };
}
