// A user's friendship state and how one conversation moves it. Pure: data in, data out.

import type { FriendshipLevel, FriendshipState, LevelThresholds, TopicMetrics } from "../domain.js";
import { round } from "./round.js";

export const DEFAULT_LEVEL_THRESHOLDS: LevelThresholds = { acquaintance: 20, friend: 60 };

export const INITIAL_FRIENDSHIP_STATE: FriendshipState = {
  friendship_score: 0,
  friendship_level: "PHASE1_STRANGER",
  topic_metrics: {},
};

/** Weight of the latest conversation in a topic's moving-average affinity. */
const AFFINITY_ALPHA = 0.3;
/** Topics whose affinity falls below this are forgotten. */
const MIN_AFFINITY = 0.01;

/** PHASE3_FRIEND from `friend` up, PHASE2_ACQUAINTANCE from `acquaintance` up, else PHASE1_STRANGER. */
export function levelFor(score: number, thresholds: LevelThresholds): FriendshipLevel {
  if (score >= thresholds.friend) return "PHASE3_FRIEND";
  if (score >= thresholds.acquaintance) return "PHASE2_ACQUAINTANCE";
  return "PHASE1_STRANGER";
}

/**
 * The state after one conversation whose score change is `change` and whose topics are `topics`.
 *
 * - Score: max(0, score + change), rounded to 2 decimals. The score never goes below 0.
 * - `appliedChange` = new score - old score (2 decimals): the change actually applied, which differs
 *   from `change` when the floor at 0 cuts it. Starting from 0, the sum of the applied changes of
 *   all of a user's conversations always equals their score (both to 2 decimals), so the per-event
 *   `friendship_score_change` column adds up to `friendship_score`.
 * - Level: `levelFor(new score, thresholds)`; it can go down as well as up.
 * - Topics: mentions are summed. Affinity is an exponential moving average with alpha 0.3: a topic
 *   in this conversation gets 0.3 * its affinity now + 0.7 * its affinity before (a new topic starts
 *   at its affinity now); a topic not in this conversation decays to 0.7 * its affinity. Affinity is
 *   rounded to 4 decimals and a topic whose affinity falls below 0.01 is dropped.
 */
export function applyConversation(
  current: FriendshipState,
  change: number,
  topics: TopicMetrics,
  thresholds: LevelThresholds,
): { state: FriendshipState; appliedChange: number } {
  if (!Number.isFinite(change)) throw new RangeError(`applyConversation: change must be finite, got ${change}`);
  const oldScore = current.friendship_score;
  const newScore = round(Math.max(0, oldScore + change), 2);
  return {
    state: {
      friendship_score: newScore,
      friendship_level: levelFor(newScore, thresholds),
      topic_metrics: mergeTopics(current.topic_metrics, topics),
    },
    appliedChange: round(newScore - oldScore, 2),
  };
}

function mergeTopics(before: TopicMetrics, now: TopicMetrics): TopicMetrics {
  const merged: TopicMetrics = {};
  const names = [...new Set([...Object.keys(before), ...Object.keys(now)])].sort();
  for (const topic of names) {
    const old = before[topic];
    const seen = now[topic];
    let affinity: number;
    if (seen === undefined) affinity = (old?.affinity ?? 0) * (1 - AFFINITY_ALPHA);
    else if (old === undefined) affinity = seen.affinity;
    else affinity = AFFINITY_ALPHA * seen.affinity + (1 - AFFINITY_ALPHA) * old.affinity;
    affinity = round(affinity, 4);
    if (affinity < MIN_AFFINITY) continue;
    merged[topic] = { mentions: (old?.mentions ?? 0) + (seen?.mentions ?? 0), affinity };
  }
  return merged;
}

/** Topic name -> affinity, for ranking agents. */
export function topicAffinity(metrics: TopicMetrics): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).map(([topic, { affinity }]) => [topic, affinity]));
}

/**
 * Folds a user's conversations into their state one after another, in the order given (the
 * worker gives them in event_id order): each starts from the state the previous one left.
 * Returns the state after each conversation with the change actually applied to it, and the
 * final state. Folding [a, b] equals applying a, then applying b to the result.
 */
export function applyConversations(
  current: FriendshipState,
  conversations: ReadonlyArray<{ change: number; topics: TopicMetrics }>,
  thresholds: LevelThresholds,
): { steps: Array<{ state: FriendshipState; appliedChange: number }>; state: FriendshipState } {
  const steps: Array<{ state: FriendshipState; appliedChange: number }> = [];
  let state = current;
  for (const conversation of conversations) {
    const step = applyConversation(state, conversation.change, conversation.topics, thresholds);
    steps.push(step);
    state = step.state;
  }
  return { steps, state };
}
