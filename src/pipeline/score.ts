// How much one conversation changes a user's friendship score. Pure: data in, data out.

import type { ConversationFeatures, ScoreWeights } from "../domain.js";
import { round } from "./round.js";

export const DEFAULT_SCORE_WEIGHTS: ScoreWeights = {
  turns: 4,
  questions: 3,
  topics: 2,
  emotion: 3,
  turnsCap: 20,
  questionsCap: 5,
  topicsCap: 3,
};

/**
 * The friendship score change of one conversation, rounded to 2 decimals:
 *
 * ```
 * change = turns     * min(total_turns, turnsCap) / turnsCap
 *        + questions * min(user_initiated_questions, questionsCap) / questionsCap
 *        + topics    * min(number of topics in topic_metrics, topicsCap) / topicsCap
 *        + emotion   * session_emotion.valence
 * ```
 *
 * With the default weights a conversation adds at most 4 + 3 + 2 + 3 = 12 points, and a negative
 * mood can take up to 3 away. Every cap must be > 0.
 */
export function friendshipScoreChange(features: ConversationFeatures, weights: ScoreWeights): number {
  const turns = cappedShare(features.total_turns, weights.turnsCap, "turnsCap");
  const questions = cappedShare(features.user_initiated_questions, weights.questionsCap, "questionsCap");
  const topics = cappedShare(Object.keys(features.topic_metrics).length, weights.topicsCap, "topicsCap");
  const change =
    weights.turns * turns +
    weights.questions * questions +
    weights.topics * topics +
    weights.emotion * features.session_emotion.valence;
  return round(change, 2);
}

/** min(count, cap) / cap. */
function cappedShare(count: number, cap: number, name: string): number {
  if (!(cap > 0)) throw new RangeError(`score weights: ${name} must be > 0, got ${cap}`);
  return Math.min(count, cap) / cap;
}
