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
  ConversationFeatures, FriendshipState, LevelThresholds, RetryPolicy, ScoreWeights, TopicPrototype,
} from "../pipeline/types.js";
import type { Logger } from "../log.js";
import { classifyFailure, ProcessingError } from "./errors.js";

export interface ProcessingContext {
  db: Db;
  embedder: Embedder;
  prototypes: () => Promise<TopicPrototype[]>;
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
    const messages = await db
      .selectFrom("parley.messages")
      .select(["role", "content"])
      .where("conversation_id", "=", claimed.conversation_id)
      .orderBy("seq")
      .execute();
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

    outcome = await applyOnce(db, {
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
 * Marks the event PROCESSING and counts the attempt. Nothing comes back when
 * the event is finished, missing, or waiting for a later retry (a stale
 * duplicate job): there is nothing for this job to do.
 */
async function claim(db: Db, eventId: string) {
  return db
    .updateTable("parley.conversation_events")
    .set({
      status: "PROCESSING",
      attempt_count: sql`attempt_count + 1`,
      last_attempt_at: sql`now()`,
    })
    .where("event_id", "=", eventId)
    .where("status", "in", ["PENDING", "PROCESSING"])
    .where("next_attempt_at", "<=", sql<Date>`now() + interval '1 second'`)
    .returning(["conversation_id", "profile_id", "attempt_count", "created_at"])
    .executeTakeFirst();
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

async function applyOnce(db: Db, result: Result): Promise<Outcome> {
  return db.transaction().execute(async (tx) => {
    const event = await tx
      .selectFrom("parley.conversation_events")
      .select("status")
      .where("event_id", "=", result.eventId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (event.status === "PROCESSED" || event.status === "FAILED") return "already_done";

    // Lock the user's row, creating it first: FOR UPDATE on a row that does
    // not exist yet locks nothing, and two first conversations of one user
    // would both start from zero.
    await tx
      .insertInto("parley.friendship_status")
      .values({ profile_id: result.profileId, friendship_score: 0, friendship_level: "PHASE1_STRANGER", topic_metrics: "{}" })
      .onConflict((conflict) => conflict.column("profile_id").doNothing())
      .execute();
    const stored = await tx
      .selectFrom("parley.friendship_status")
      .select(["friendship_score", "friendship_level", "topic_metrics"])
      .where("profile_id", "=", result.profileId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const current: FriendshipState = { ...stored, friendship_score: Number(stored.friendship_score) };
    const { state, appliedChange } = applyConversation(current, result.change, result.features.topic_metrics, result.levelThresholds);

    await tx
      .updateTable("parley.friendship_status")
      .set({
        friendship_score: state.friendship_score,
        friendship_level: state.friendship_level,
        topic_metrics: JSON.stringify(state.topic_metrics),
        conversation_count: sql`conversation_count + 1`,
        last_event_id: result.eventId,
        updated_at: sql`now()`,
      })
      .where("profile_id", "=", result.profileId)
      .execute();

    const [catalog, recent] = await Promise.all([
      tx.selectFrom("parley.agent_catalog")
        .select(["agent_id", "agent_type", "name", "topics", "levels"])
        .where("is_enabled", "=", true)
        .execute(),
      tx.selectFrom("parley.conversations")
        .select("bot_id")
        .where("profile_id", "=", result.profileId)
        .orderBy("started_at", "desc")
        .limit(RECENT_AGENTS)
        .execute(),
    ]);
    const candidates = rankCandidates({
      catalog,
      level: state.friendship_level,
      topicAffinity: topicAffinity(state.topic_metrics),
      recentAgentIds: recent.map((row) => row.bot_id),
      limit: CANDIDATES_PER_KIND,
    });
    const candidateColumns = {
      greeting_agent: JSON.stringify(candidates.greeting_agent),
      talk_candidates: JSON.stringify(candidates.talk_candidates),
      game_candidates: JSON.stringify(candidates.game_candidates),
      computed_at: sql<Date>`now()`,
      expires_at: sql<Date>`now() + ${CANDIDATES_TTL}::interval`,
      source_event_id: result.eventId,
    };
    await tx
      .insertInto("parley.agent_candidates")
      .values({ profile_id: result.profileId, ...candidateColumns })
      .onConflict((conflict) => conflict.column("profile_id").doUpdateSet(candidateColumns))
      .execute();

    const embedding = {
      model: result.model,
      dimension: result.conversationVector.length,
      embedding: Array.from(result.conversationVector),
    };
    await tx
      .insertInto("parley.conversation_embeddings")
      .values({ conversation_id: result.conversationId, ...embedding })
      .onConflict((conflict) => conflict.column("conversation_id").doUpdateSet(embedding))
      .execute();

    await tx
      .updateTable("parley.conversation_events")
      .set({
        status: "PROCESSED",
        processed_at: sql`clock_timestamp()`,
        friendship_score_change: appliedChange,
        new_friendship_level: state.friendship_level,
        total_turns: result.features.total_turns,
        user_initiated_questions: result.features.user_initiated_questions,
        topic_metrics: JSON.stringify(result.features.topic_metrics),
        session_emotion: JSON.stringify(result.features.session_emotion),
        error_code: null,
        error_details: null,
      })
      .where("event_id", "=", result.eventId)
      .execute();
    return "processed";
  });
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
