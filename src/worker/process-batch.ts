// A batch of claimed events through the pipeline: the imperative shell around
// the pure stages. Embed every text of the batch in one embedder call, compute
// each event's features and score, fold each user's events into their state
// in event_id order, rank their next candidates, then apply every result in
// one transaction (sql/complete_events.sql, sql/fail_events.sql).
import type pg from "pg";
import { meanVector } from "../pipeline/vectors.js";
import type { CachedEmbedder, UnstoredVector } from "../embed/cache.js";
import { extractFeatures } from "../pipeline/features.js";
import { friendshipScoreChange } from "../pipeline/score.js";
import { applyConversations, INITIAL_FRIENDSHIP_STATE, topicAffinity } from "../pipeline/friendship.js";
import { rankCandidates } from "../pipeline/candidates.js";
import { nextRetry } from "../pipeline/backoff.js";
import { topicThresholdFor } from "../pipeline/topics.js";
import type {
  CatalogAgent, ConversationFeatures, FriendshipState, LevelThresholds, RetryPolicy, ScoreWeights, TopicPrototype,
} from "../domain.js";
import type { Logger } from "../log.js";
import { EVENT_CHANNEL } from "../domain.js";
import { classifyFailure, ProcessingError } from "./errors.js";
import {
  claimEvents, completeEvents, failEvents, readUserStates, releaseEvents,
  type Claim, type ClaimedEvent, type EventFailure, type EventResult, type UserResult, type UserState,
} from "./transitions.js";

export interface ProcessingContext {
  pool: pg.Pool;
  /** The worker process that claims: parley.conversation_events.claimed_by. */
  workerId: string;
  embedder: CachedEmbedder;
  prototypes: () => Promise<TopicPrototype[]>;
  catalog: () => Promise<CatalogAgent[]>;
  retryPolicy: RetryPolicy;
  scoreWeights: ScoreWeights;
  levelThresholds: LevelThresholds;
  /** Most events one claim takes. */
  batchSize: number;
  /** How long a claim lasts if its worker neither finishes nor is seen dead. */
  leaseSeconds: number;
  log: Logger;
  /** Called for each event of each batch, for metrics: its outcome, its share of the batch's time, and commit to PROCESSED. */
  onOutcome?: (outcome: Outcome, seconds: number, endToEndSeconds: number | null) => void;
  onBatch?: (events: number, seconds: number) => void;
}

/** What became of an event in a worker. */
export const OUTCOMES = ["processed", "retry_scheduled", "failed", "already_done", "released", "not_due"] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** What each outcome means, where the name does not say it all (the metric's help is built from it). */
export const OUTCOME_MEANINGS = {
  processed: "",
  retry_scheduled: "",
  failed: "retries exhausted or not retryable",
  already_done: "finished elsewhere or deleted",
  released: "given back, claimed again later",
  not_due: "a job whose event had nothing to do: waiting for a retry, or in another worker's hands",
} as const satisfies Record<Outcome, string>;

const CANDIDATES_PER_KIND = 3;
/** Rounds of recomputing users whose state changed between claim and apply before giving their events back. */
const CONFLICT_ROUNDS = 3;

interface Computed {
  event: ClaimedEvent;
  features: ConversationFeatures;
  change: number;
  embedding: string;
  cache: EventResult["cache"];
}

/** Claims up to a batch of due events, those in `wanted` first, and tells the live stream once committed. */
export async function claimDue(context: ProcessingContext, wanted: readonly string[]): Promise<Claim> {
  const claim = await claimEvents(context.pool, context.workerId, context.batchSize, context.leaseSeconds, wanted);
  announceChanges(context, claim.txid);
  return claim;
}

/**
 * Claims due events (those in `wanted` first) and processes them as one batch. Wanted events
 * not claimed come back as "not_due" (nothing to do here) or are left out when they must wait
 * (see claim_events); `blocked` lists those.
 */
export async function processDueEvents(
  context: ProcessingContext,
  wanted: readonly string[] = [],
): Promise<{ outcomes: Map<string, Outcome>; blocked: string[]; claimed: number }> {
  const claim = await claimDue(context, wanted);
  const outcomes = claim.claimed.length > 0 ? await processClaimed(context, claim.claimed) : new Map<string, Outcome>();
  for (const eventId of claim.notDue) outcomes.set(eventId, "not_due");
  return { outcomes, blocked: claim.blocked, claimed: claim.claimed.length };
}

/**
 * Processes claimed events. Failures of single events (an empty conversation, an embedder
 * error, a bug in a stage) are recorded per event and never fail the batch; an error reaching
 * the caller means the database could not record the outcome, and the events are still claimed.
 */
export async function processClaimed(context: ProcessingContext, claimed: ClaimedEvent[]): Promise<Map<string, Outcome>> {
  const started = performance.now();
  const events = [...claimed].sort((a, b) => compareIds(a.event_id, b.event_id));
  const failures: EventFailure[] = [];
  const fail = (event: ClaimedEvent, error: unknown) => failures.push(failureOf(event, error, context.retryPolicy));

  const runnable: ClaimedEvent[] = [];
  for (const event of events) {
    if (event.attempt_count > context.retryPolicy.maxAttempts) {
      // Attempts that never reached a verdict (a worker killed mid-batch) count too.
      fail(event, new ProcessingError("attempts_exhausted",
        `gave up after ${event.attempt_count - 1} attempts that did not finish`, false));
    } else if (event.messages.length === 0) {
      fail(event, new ProcessingError("empty_conversation", "the conversation has no messages to process", false));
    } else {
      runnable.push(event);
    }
  }

  const computed: Computed[] = [];
  const embedding = performance.now();
  const embedded = await embedAll(context, runnable, fail);
  const timings = { embed_ms: Math.round(performance.now() - embedding), apply_ms: 0 };
  for (const { event, vectors, storable } of embedded) {
    try {
      computed.push(await compute(context, event, vectors, storable));
    } catch (error) {
      fail(event, error);
    }
  }

  const catalog = computed.length > 0 ? await context.catalog() : [];
  const byUser = groupByUser(computed);
  const states = new Map<string, UserState>(events.map((event) => [event.profile_id, event]));
  const outcomes = new Map<string, Outcome | "conflict">();
  const results = fold(byUser, states, catalog, context.levelThresholds, context.embedder.model);
  const applying = performance.now();
  const { outcomes: recorded, txid } = await applyAll(context, results, failures);
  announceChanges(context, txid);
  timings.apply_ms = Math.round(performance.now() - applying);
  for (const [eventId, outcome] of recorded) outcomes.set(eventId, outcome);

  // Users whose row moved between claim and apply: compute them again from where they are now.
  let conflicted = [...recorded].filter(([, outcome]) => outcome === "conflict").map(([eventId]) => eventId);
  for (let round = 0; conflicted.length > 0 && round < CONFLICT_ROUNDS; round++) {
    const still = new Set(conflicted);
    const retryUsers = new Map<string, Computed[]>();
    for (const [profileId, items] of byUser) {
      const mine = items.filter((item) => still.has(item.event.event_id));
      if (mine.length > 0) retryUsers.set(profileId, mine);
    }
    const fresh = await readUserStates(context.pool, [...retryUsers.keys()]);
    const { outcomes: again, txid: againTxid } = await completeEvents(context.pool, context.workerId, fold(retryUsers, fresh, catalog, context.levelThresholds, context.embedder.model));
    announceChanges(context, againTxid);
    for (const [eventId, outcome] of again) outcomes.set(eventId, outcome);
    conflicted = [...again].filter(([, outcome]) => outcome === "conflict").map(([eventId]) => eventId);
  }
  if (conflicted.length > 0) {
    await releaseEvents(context.pool, context.workerId, conflicted);
    for (const eventId of conflicted) outcomes.set(eventId, "released");
  }

  // Every conflict was either recorded on a later round or released above.
  const final = outcomes as Map<string, Outcome>;
  report(context, events, final, failures, (performance.now() - started) / 1000, timings);
  return final;
}

/**
 * The vectors of every runnable event's messages: one embedder call for the whole batch. If
 * that call fails, each event is embedded on its own, so that one event whose texts the
 * provider rejects fails alone.
 */
async function embedAll(
  context: ProcessingContext,
  events: ClaimedEvent[],
  fail: (event: ClaimedEvent, error: unknown) => void,
): Promise<Array<{ event: ClaimedEvent; vectors: Float32Array[]; storable: Storable }>> {
  if (events.length === 0) return [];
  const texts = events.flatMap((event) => event.messages.map((message) => message.content));
  try {
    const { vectors, unstored } = await context.embedder.embedUnstored(texts);
    const storable = storableByText(unstored);
    let offset = 0;
    return events.map((event) => {
      const own = vectors.slice(offset, offset + event.messages.length);
      offset += event.messages.length;
      return { event, vectors: own, storable };
    });
  } catch (error) {
    if (events.length === 1) {
      fail(events[0]!, error);
      return [];
    }
    context.log.warn({ err: error, events: events.length }, "embedding the batch failed; embedding its events one by one");
    const embedded = [];
    for (const event of events) {
      try {
        const { vectors, unstored } = await context.embedder.embedUnstored(event.messages.map((message) => message.content));
        embedded.push({ event, vectors, storable: storableByText(unstored) });
      } catch (eventError) {
        fail(event, eventError);
      }
    }
    return embedded;
  }
}

/** Vectors new to the cache table, by the text they are of, ready for complete_events. */
type Storable = Map<string, EventResult["cache"][number]>;

/** Each vector's literal is made once, however many events of the batch hold its text. */
function storableByText(unstored: Map<string, UnstoredVector>): Storable {
  const storable: Storable = new Map();
  for (const [hash, { text, vector }] of unstored) storable.set(text, { hash, embedding: realArrayLiteral(vector) });
  return storable;
}

async function compute(
  context: ProcessingContext,
  event: ClaimedEvent,
  vectors: Float32Array[],
  storable: Storable,
): Promise<Computed> {
  const { embedder } = context;
  const features = extractFeatures({
    messages: event.messages,
    messageVectors: vectors,
    prototypes: await context.prototypes(),
    topicThreshold: topicThresholdFor(embedder.model),
  });
  const cache: Computed["cache"] = [];
  if (storable.size > 0) {
    for (const message of event.messages) {
      const entry = storable.get(message.content);
      if (entry !== undefined) cache.push(entry);
    }
  }
  return {
    event,
    features,
    change: friendshipScoreChange(features, context.scoreWeights),
    embedding: realArrayLiteral(meanVector(vectors, embedder.dimension)),
    cache,
  };
}

function groupByUser(computed: Computed[]): Map<string, Computed[]> {
  const byUser = new Map<string, Computed[]>();
  for (const item of computed) {
    const items = byUser.get(item.event.profile_id);
    if (items) items.push(item);
    else byUser.set(item.event.profile_id, [item]);
  }
  return byUser;
}

/** Each user's events folded in event_id order from their stored state, and the candidates after the last. */
function fold(
  byUser: Map<string, Computed[]>,
  states: Map<string, UserState>,
  catalog: CatalogAgent[],
  thresholds: LevelThresholds,
  model: string,
): { events: EventResult[]; users: UserResult[] } {
  const events: EventResult[] = [];
  const users: UserResult[] = [];
  for (const [profileId, items] of byUser) {
    const stored = states.get(profileId);
    const current: FriendshipState = stored?.friendship
      ? {
          friendship_score: Number(stored.friendship.friendship_score),
          friendship_level: stored.friendship.friendship_level,
          topic_metrics: stored.friendship.topic_metrics,
        }
      : INITIAL_FRIENDSHIP_STATE;
    const { steps, state } = applyConversations(
      current,
      items.map((item) => ({ change: item.change, topics: item.features.topic_metrics })),
      thresholds,
    );
    items.forEach((item, i) => {
      const step = steps[i]!;
      events.push({
        event_id: item.event.event_id,
        profile_id: profileId,
        attempt: item.event.attempt_count,
        friendship_score_change: step.appliedChange,
        new_friendship_level: step.state.friendship_level,
        total_turns: item.features.total_turns,
        user_initiated_questions: item.features.user_initiated_questions,
        topic_metrics: item.features.topic_metrics,
        session_emotion: item.features.session_emotion,
        model,
        embedding: item.embedding,
        cache: item.cache,
      });
    });
    users.push({
      profile_id: profileId,
      expected_count: stored?.friendship?.conversation_count ?? null,
      friendship_score: state.friendship_score,
      friendship_level: state.friendship_level,
      topic_metrics: state.topic_metrics,
      last_event_id: items[items.length - 1]!.event.event_id,
      candidates: rankCandidates({
        catalog,
        level: state.friendship_level,
        topicAffinity: topicAffinity(state.topic_metrics),
        recentAgentIds: stored?.recent_agent_ids ?? [],
        limit: CANDIDATES_PER_KIND,
      }),
    });
  }
  events.sort((a, b) => compareIds(a.event_id, b.event_id));
  return { events, users };
}

/** Completions and failures in one transaction (one statement when there is only one kind). */
async function applyAll(
  context: ProcessingContext,
  results: { events: EventResult[]; users: UserResult[] },
  failures: EventFailure[],
): Promise<{ outcomes: Map<string, Outcome | "conflict">; txid: string | null }> {
  const { pool, workerId } = context;
  if (failures.length === 0) return completeEvents(pool, workerId, results);
  if (results.events.length === 0) return failEvents(pool, workerId, failures);
  const client = await pool.connect();
  try {
    await client.query("begin");
    const completed = await completeEvents(client, workerId, results);
    const failed = await failEvents(client, workerId, failures);
    await client.query("commit");
    return { outcomes: new Map<string, Outcome | "conflict">([...completed.outcomes, ...failed.outcomes]), txid: completed.txid ?? failed.txid };
  } catch (error) {
    await client.query("rollback").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Tells the live stream that a transition's transaction committed changes: the same
 * notification the change-log trigger sends for any other writer (sql/_event_changes.sql says
 * why the worker's transitions leave it to this). Not awaited: if it is lost (the database went
 * away), the stream learns of those changes with the next notification.
 */
export function announceChanges(context: ProcessingContext, txid: string | null): void {
  if (txid === null) return;
  context.pool.query({ name: "parley_announce", text: "select pg_notify($1, $2)", values: [EVENT_CHANNEL, txid] })
    .catch((error: unknown) => context.log.debug({ err: error }, "could not announce changes to the live stream"));
}

function failureOf(event: ClaimedEvent, error: unknown, policy: RetryPolicy): EventFailure {
  const failure = classifyFailure(error);
  const decision = failure.retryable ? nextRetry(event.attempt_count, policy) : ({ retry: false } as const);
  return {
    event_id: event.event_id,
    attempt: event.attempt_count,
    error_code: failure.code,
    error_details: failure.details,
    retry_in_seconds: decision.retry ? decision.delaySeconds : null,
  };
}

function report(
  context: ProcessingContext,
  events: ClaimedEvent[],
  outcomes: Map<string, Outcome>,
  failures: EventFailure[],
  seconds: number,
  timings: { embed_ms: number; apply_ms: number },
): void {
  const counts: Partial<Record<Outcome, number>> = {};
  const now = Date.now();
  const perEvent = context.log.isLevelEnabled("debug");
  for (const event of events) {
    const outcome = outcomes.get(event.event_id) ?? "already_done";
    counts[outcome] = (counts[outcome] ?? 0) + 1;
    const endToEnd = outcome === "processed" ? (now - event.created_at.getTime()) / 1000 : null;
    context.onOutcome?.(outcome, seconds / events.length, endToEnd);
    if (perEvent) context.log.debug({ event_id: event.event_id, conversation_id: event.conversation_id, outcome }, "conversation processed");
  }
  for (const failure of failures) {
    const event = events.find((candidate) => candidate.event_id === failure.event_id)!;
    context.log.warn({
      event_id: failure.event_id, conversation_id: event.conversation_id, attempt: failure.attempt,
      outcome: outcomes.get(failure.event_id), error_code: failure.error_code, err: failure.error_details,
    }, "conversation processing failed");
  }
  context.onBatch?.(events.length, seconds);
  context.log.info({ events: events.length, ...counts, ms: Math.round(seconds * 1000), ...timings }, "batch processed");
}

function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * A real[] literal. float32 needs 9 significant digits to round-trip; the
 * default formatting of a JS number sends 17, and zeros stay "0".
 */
export function realArrayLiteral(vector: Float32Array): string {
  let text = "{";
  for (let i = 0; i < vector.length; i++) {
    if (i > 0) text += ",";
    const value = vector[i]!;
    text += value === 0 ? "0" : value.toPrecision(9);
  }
  return text + "}";
}
