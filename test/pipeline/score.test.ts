import { describe, it, expect } from "vitest";
import { DEFAULT_SCORE_WEIGHTS, friendshipScoreChange } from "../../src/pipeline/score.js";
import type { ConversationFeatures, TopicMetrics } from "../../src/domain.js";

function features(turns: number, questions: number, topicCount: number, valence: number): ConversationFeatures {
  const topic_metrics: TopicMetrics = {};
  for (let i = 0; i < topicCount; i += 1) topic_metrics[`topic${i}`] = { mentions: 1, affinity: 0.1 };
  return {
    total_turns: turns,
    user_initiated_questions: questions,
    topic_metrics,
    session_emotion: { label: "neutral", valence, positive_messages: 0, negative_messages: 0 },
  };
}

describe("DEFAULT_SCORE_WEIGHTS", () => {
  it("are the documented weights and caps", () => {
    expect(DEFAULT_SCORE_WEIGHTS).toEqual({
      turns: 4, questions: 3, topics: 2, emotion: 3, turnsCap: 20, questionsCap: 5, topicsCap: 3,
    });
  });
});

describe("friendshipScoreChange", () => {
  it("is 0 for an empty conversation", () => {
    expect(friendshipScoreChange(features(0, 0, 0, 0), DEFAULT_SCORE_WEIGHTS)).toBe(0);
  });

  it("adds each capped share times its weight, rounded to 2 decimals", () => {
    // 4*10/20 + 3*2/5 + 2*2/3 + 3*0.5 = 2 + 1.2 + 1.3333 + 1.5
    expect(friendshipScoreChange(features(10, 2, 2, 0.5), DEFAULT_SCORE_WEIGHTS)).toBe(6.03);
    // 2*1/3
    expect(friendshipScoreChange(features(0, 0, 1, 0), DEFAULT_SCORE_WEIGHTS)).toBe(0.67);
  });

  it("adds nothing beyond the caps: at most 12 with the default weights", () => {
    expect(friendshipScoreChange(features(20, 5, 3, 1), DEFAULT_SCORE_WEIGHTS)).toBe(12);
    expect(friendshipScoreChange(features(400, 50, 14, 1), DEFAULT_SCORE_WEIGHTS)).toBe(12);
  });

  it("can be negative through the emotion term", () => {
    expect(friendshipScoreChange(features(0, 0, 0, -1), DEFAULT_SCORE_WEIGHTS)).toBe(-3);
    expect(friendshipScoreChange(features(2, 0, 0, -0.5), DEFAULT_SCORE_WEIGHTS)).toBe(-1.1);
  });

  it("uses the weights it is given", () => {
    const weights = { turns: 1, questions: 0, topics: 0, emotion: 0, turnsCap: 4, questionsCap: 1, topicsCap: 1 };
    expect(friendshipScoreChange(features(3, 5, 2, 1), weights)).toBe(0.75);
  });

  it("throws on a cap that is not > 0", () => {
    expect(() => friendshipScoreChange(features(1, 1, 1, 0), { ...DEFAULT_SCORE_WEIGHTS, turnsCap: 0 })).toThrow(
      /turnsCap must be > 0/,
    );
  });
});
