// The task behind every ended conversation: the imperative shell around the
// pure pipeline. Load, embed (outside any transaction), compute, then apply
// everything in one transaction that locks the event row, so the effect on
// friendship_status happens once however many times the job runs.
import { sql } from "kysely";
import type { Db } from "../db/pool.js";
import type { Embedder } from "../pipeline/embed/embedder.js";
import { meanVector } from "../pipeline/embed/embedder.js";
import { extractFeatures } from "../pipeline/features.js";
import { friendshipScoreChange } from "../pipeline/score.js";
import { applyConversation, topicAffinity } from "../pipeline/friendship.js";
import { rankCandidates } from "../pipeline/candidates.js";
import { nextRetry } from "../pipeline/backoff.js";
import { topicThresholdFor } from "../pipeline/topics.js";
import type {
  CatalogAgent, ConversationFeatures, FriendshipLevel, FriendshipState, LevelThresholds, Message, RetryPolicy,
  ScoreWeights, TopicMetrics, TopicPrototype,
} from "../pipeline/types.js";
import type { Logger } from "../log.js";
import { classifyFailure, ProcessingError } from "./errors.js";

export interface ProcessingContext {
  db: Db;
  embedder: Embedder;
  prototypes: () => Promise<TopicPrototype[]>;
  catalog: () => Promise<CatalogAgent[]>;
  retryPolicy: RetryPolicy;
  scoreWeights: ScoreWeights;
  levelThresholds: LevelThresholds;
  log: Logger;
  /** Called after each attempt, for metrics. */
  onOutcome?: (outcome: Outcome, handlerSeconds: number, endToEndSeconds: number | null) => void;
}

export type Outcome = "processed" | "already_done" | "not_due" | "retry_scheduled" | "failed";

const CANDIDATES_PER_KIND = 3;
const RECENT_AGENTS = 5;
const CANDIDATES_TTL = "12 hours";

export async function processConversation(eventId: string, context: ProcessingContext): Promise<Outcome> {
  const started = performance.now();
  const { db } = context;
  const claimed = await claim(db, eventId);
  if (!claimed) return "not_due";
  const log = context.log.child({ event_id: eventId, conversation_id: claimed.conversation_id });

  let outcome: Outcome;
  try {
    if (claimed.attempt_count > context.retryPolicy.maxAttempts) {
      // Attempts that never reached a verdict (a worker killed mid-job) count too.
      throw new ProcessingError("attempts_exhausted",
        `gave up after ${claimed.attempt_count - 1} attempts that did not finish`, false);
    }
    const messages = claimed.messages;
    if (messages.length === 0) {
      throw new ProcessingError("empty_conversation", "the conversation has no messages to process", false);
    }

    const vectors = await context.embedder.embed(messages.map((message) => message.content));
    const features = extractFeatures({
      messages,
      messageVectors: vectors,
      prototypes: await context.prototypes(),
      topicThreshold: topicThresholdFor(context.embedder.model),
    });
    const change = friendshipScoreChange(features, context.scoreWeights);

    outcome = await applyOnce(db, context.catalog, {
      eventId,
      profileId: claimed.profile_id,
      conversationId: claimed.conversation_id,
      features,
      change,
      conversationVector: meanVector(vectors, context.embedder.dimension),
      model: context.embedder.model,
      levelThresholds: context.levelThresholds,
    });
    log.info({ outcome, friendship_score_change: change }, "conversation processed");
  } catch (error) {
    outcome = await recordFailure(db, eventId, claimed.attempt_count, error, context.retryPolicy);
    log.warn({ outcome, err: error, attempt: claimed.attempt_count }, "conversation processing failed");
  }
  const endToEnd = outcome === "processed" ? (Date.now() - claimed.created_at.getTime()) / 1000 : null;
  context.onOutcome?.(outcome, (performance.now() - started) / 1000, endToEnd);
  return outcome;
}

/**
 * Marks the event PROCESSING, counts the attempt and loads the messages, in
 * one statement. Nothing comes back when the event is finished, missing, or
 * waiting for a later retry (a stale duplicate job): nothing to do then.
 */
async function claim(db: Db, eventId: string) {
  const { rows } = await sql<{
    conversation_id: string;
    profile_id: string;
    attempt_count: number;
    created_at: Date;
    messages: Message[];
  }>`
    with claimed as (
      update parley.conversation_events
      set status = 'PROCESSING', attempt_count = attempt_count + 1, last_attempt_at = now()
      where event_id = ${eventId}
        and status in ('PENDING', 'PROCESSING')
        and next_attempt_at <= now() + interval '1 second'
      returning conversation_id, profile_id, attempt_count, created_at
    )
    select claimed.*,
      coalesce((select json_agg(json_build_object('role', m.role, 'content', m.content) order by m.seq)
                from parley.messages m where m.conversation_id = claimed.conversation_id), '[]') as messages
    from claimed`.execute(db);
  return rows[0];
}

interface Result {
  eventId: string;
  profileId: string;
  conversationId: string;
  features: ConversationFeatures;
  change: number;
  conversationVector: Float32Array;
  model: string;
  levelThresholds: LevelThresholds;
}

async function applyOnce(db: Db, catalog: () => Promise<CatalogAgent[]>, result: Result): Promise<Outcome> {
  const agents = await catalog();
  return db.transaction().execute(async (tx) => {
    // One round trip: lock the event, then lock the user's row, creating it
    // if needed (a FOR UPDATE on a row that does not exist yet locks nothing,
    // and two first conversations of one user would both start from zero; an
    // upsert that updates locks and returns the row, new or not), and read
    // the agents the user talked to last.
    const { rows } = await sql<{
      status: string;
      friendship_score: string;
      friendship_level: FriendshipLevel;
      topic_metrics: TopicMetrics;
      recent_agent_ids: string[];
    }>`
      with event as (
        select status from parley.conversation_events where event_id = ${result.eventId} for update
      ),
      friendship as (
        insert into parley.friendship_status (profile_id)
        select ${result.profileId} from event where event.status not in ('PROCESSED', 'FAILED')
        on conflict (profile_id) do update set profile_id = excluded.profile_id
        returning friendship_score, friendship_level, topic_metrics
      )
      select event.status, friendship.*,
        array(select c.bot_id from parley.conversations c where c.profile_id = ${result.profileId}
              order by c.started_at desc limit ${RECENT_AGENTS}) as recent_agent_ids
      from event left join friendship on true`.execute(tx);
    const locked = rows[0];
    if (!locked) throw new Error(`event ${result.eventId} disappeared while being processed`);
    if (locked.status === "PROCESSED" || locked.status === "FAILED") return "already_done";

    const current: FriendshipState = {
      friendship_score: Number(locked.friendship_score),
      friendship_level: locked.friendship_level,
      topic_metrics: locked.topic_metrics,
    };
    const { state, appliedChange } = applyConversation(current, result.change, result.features.topic_metrics, result.levelThresholds);
    const candidates = rankCandidates({
      catalog: agents,
      level: state.friendship_level,
      topicAffinity: topicAffinity(state.topic_metrics),
      recentAgentIds: locked.recent_agent_ids,
      limit: CANDIDATES_PER_KIND,
    });

    // One round trip for every write.
    await sql`
      with friendship as (
        update parley.friendship_status
        set friendship_score = ${state.friendship_score},
            friendship_level = ${state.friendship_level},
            topic_metrics = ${JSON.stringify(state.topic_metrics)}::jsonb,
            conversation_count = conversation_count + 1,
            last_event_id = ${result.eventId},
            updated_at = now()
        where profile_id = ${result.profileId}
      ),
      candidates as (
        insert into parley.agent_candidates as a
          (profile_id, greeting_agent, talk_candidates, game_candidates, computed_at, expires_at, source_event_id)
        values (${result.profileId}, ${JSON.stringify(candidates.greeting_agent)}::jsonb,
                ${JSON.stringify(candidates.talk_candidates)}::jsonb, ${JSON.stringify(candidates.game_candidates)}::jsonb,
                now(), now() + ${CANDIDATES_TTL}::interval, ${result.eventId})
        on conflict (profile_id) do update set
          greeting_agent = excluded.greeting_agent, talk_candidates = excluded.talk_candidates,
          game_candidates = excluded.game_candidates, computed_at = excluded.computed_at,
          expires_at = excluded.expires_at, source_event_id = excluded.source_event_id
      ),
      embedding as (
        insert into parley.conversation_embeddings as e (conversation_id, model, dimension, embedding)
        values (${result.conversationId}, ${result.model}, ${result.conversationVector.length},
                ${realArrayLiteral(result.conversationVector)}::real[])
        on conflict (conversation_id) do update set
          model = excluded.model, dimension = excluded.dimension, embedding = excluded.embedding
      )
      update parley.conversation_events
      set status = 'PROCESSED', processed_at = clock_timestamp(),
          friendship_score_change = ${appliedChange}, new_friendship_level = ${state.friendship_level},
          total_turns = ${result.features.total_turns},
          user_initiated_questions = ${result.features.user_initiated_questions},
          topic_metrics = ${JSON.stringify(result.features.topic_metrics)}::jsonb,
          session_emotion = ${JSON.stringify(result.features.session_emotion)}::jsonb,
          error_code = null, error_details = null
      where event_id = ${result.eventId}`.execute(tx);
    return "processed";
  });
}

/**
 * A real[] literal. float32 needs 9 significant digits to round-trip; the
 * default formatting of a JS number sends 17, and zeros stay "0".
 */
function realArrayLiteral(vector: Float32Array): string {
  let text = "{";
  for (let i = 0; i < vector.length; i++) {
    if (i > 0) text += ",";
    const value = vector[i]!;
    text += value === 0 ? "0" : value.toPrecision(9);
  }
  return text + "}";
}

/** The enabled agents, read at most once a minute: the catalog changes rarely. */
export function cachedCatalog(db: Db, ttlMs = 60_000): () => Promise<CatalogAgent[]> {
  let cached: { agents: Promise<CatalogAgent[]>; at: number } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > ttlMs) {
      const agents = db.selectFrom("parley.agent_catalog")
        .select(["agent_id", "agent_type", "name", "topics", "levels"])
        .where("is_enabled", "=", true)
        .execute();
      cached = { agents, at: Date.now() };
      agents.catch(() => (cached = undefined));
    }
    return cached.agents;
  };
}

/**
 * Schedules the next attempt per the retry policy (a fresh job at
 * next_attempt_at, in the same transaction), or ends the event FAILED. Either
 * way the current job completes: graphile-worker's own retries are left for
 * failures to record a failure (the database being unreachable).
 */
async function recordFailure(db: Db, eventId: string, attempt: number, error: unknown, policy: RetryPolicy): Promise<Outcome> {
  const failure = classifyFailure(error);
  const decision = failure.retryable ? nextRetry(attempt, policy) : ({ retry: false } as const);
  return db.transaction().execute(async (tx) => {
    const event = await tx
      .selectFrom("parley.conversation_events")
      .select("status")
      .where("event_id", "=", eventId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (event.status !== "PROCESSING") return "already_done";

    if (decision.retry) {
      const nextAttemptAt = sql<Date>`now() + make_interval(secs => ${decision.delaySeconds})`;
      await tx
        .updateTable("parley.conversation_events")
        .set({ status: "PENDING", next_attempt_at: nextAttemptAt, error_code: failure.code, error_details: failure.details })
        .where("event_id", "=", eventId)
        .execute();
      await sql`select parley._enqueue(${eventId}::bigint, now() + make_interval(secs => ${decision.delaySeconds}))`.execute(tx);
      return "retry_scheduled";
    }
    await tx
      .updateTable("parley.conversation_events")
      .set({ status: "FAILED", error_code: failure.code, error_details: failure.details })
      .where("event_id", "=", eventId)
      .execute();
    return "failed";
  });
}
