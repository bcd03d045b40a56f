import { describe, it, expect } from "vitest";
import fc from "fast-check";
import {
  DEFAULT_LEVEL_THRESHOLDS,
  INITIAL_FRIENDSHIP_STATE,
  applyConversation,
  levelFor,
  topicAffinity,
} from "../../src/pipeline/friendship.js";
import type { FriendshipState } from "../../src/domain.js";

const T = DEFAULT_LEVEL_THRESHOLDS;

const state = (score: number, topic_metrics: FriendshipState["topic_metrics"] = {}): FriendshipState => ({
  friendship_score: score,
  friendship_level: levelFor(score, T),
  topic_metrics,
});

describe("levelFor", () => {
  it("uses the default thresholds 20 and 60", () => {
    expect(DEFAULT_LEVEL_THRESHOLDS).toEqual({ acquaintance: 20, friend: 60 });
    expect(levelFor(0, T)).toBe("PHASE1_STRANGER");
    expect(levelFor(19.99, T)).toBe("PHASE1_STRANGER");
    expect(levelFor(20, T)).toBe("PHASE2_ACQUAINTANCE");
    expect(levelFor(59.99, T)).toBe("PHASE2_ACQUAINTANCE");
    expect(levelFor(60, T)).toBe("PHASE3_FRIEND");
    expect(levelFor(1000, T)).toBe("PHASE3_FRIEND");
  });

  it("uses the thresholds it is given", () => {
    expect(levelFor(5, { acquaintance: 5, friend: 10 })).toBe("PHASE2_ACQUAINTANCE");
  });
});

describe("INITIAL_FRIENDSHIP_STATE", () => {
  it("is a stranger with score 0 and no topics", () => {
    expect(INITIAL_FRIENDSHIP_STATE).toEqual({
      friendship_score: 0,
      friendship_level: "PHASE1_STRANGER",
      topic_metrics: {},
    });
  });
});

describe("applyConversation", () => {
  it("adds the change and records the conversation's topics", () => {
    const result = applyConversation(INITIAL_FRIENDSHIP_STATE, 6.03, { movies: { mentions: 1, affinity: 0.5 } }, T);
    expect(result).toEqual({
      state: {
        friendship_score: 6.03,
        friendship_level: "PHASE1_STRANGER",
        topic_metrics: { movies: { mentions: 1, affinity: 0.5 } },
      },
      appliedChange: 6.03,
    });
  });

  it("rounds the score to 2 decimals", () => {
    expect(applyConversation(state(1), 0.125, {}, T).state.friendship_score).toBe(1.13);
    expect(applyConversation(state(1), 0.333, {}, T).appliedChange).toBe(0.33);
  });

  it("clamps the score at 0 and applies only the part of the change that was used", () => {
    expect(applyConversation(state(2), -3, {}, T)).toMatchObject({ state: { friendship_score: 0 }, appliedChange: -2 });
    expect(applyConversation(INITIAL_FRIENDSHIP_STATE, -3, {}, T)).toMatchObject({
      state: { friendship_score: 0, friendship_level: "PHASE1_STRANGER" },
      appliedChange: 0,
    });
  });

  it("moves the level up and down with the score", () => {
    expect(applyConversation(state(18), 3, {}, T).state.friendship_level).toBe("PHASE2_ACQUAINTANCE");
    expect(applyConversation(state(58), 2, {}, T).state.friendship_level).toBe("PHASE3_FRIEND");
    expect(applyConversation(state(61), -2, {}, T).state.friendship_level).toBe("PHASE2_ACQUAINTANCE");
  });

  it("sums mentions, averages affinity with alpha 0.3, decays absent topics and drops faint ones", () => {
    const before = state(10, {
      movies: { mentions: 2, affinity: 0.5 },
      music: { mentions: 1, affinity: 0.2 },
      art: { mentions: 1, affinity: 0.012 },
    });
    const now = { movies: { mentions: 1, affinity: 1 }, food: { mentions: 3, affinity: 0.75 } };
    expect(applyConversation(before, 1, now, T).state.topic_metrics).toEqual({
      food: { mentions: 3, affinity: 0.75 }, // new: starts at its affinity
      movies: { mentions: 3, affinity: 0.65 }, // 0.3 * 1 + 0.7 * 0.5
      music: { mentions: 1, affinity: 0.14 }, // 0.7 * 0.2
      // art: 0.7 * 0.012 = 0.0084 < 0.01, dropped
    });
  });

  it("rounds affinity to 4 decimals", () => {
    const before = state(0, { movies: { mentions: 1, affinity: 0.3333 } });
    expect(applyConversation(before, 0, {}, T).state.topic_metrics).toEqual({
      movies: { mentions: 1, affinity: 0.2333 },
    });
  });

  it("drops a topic seen this time whose affinity is below 0.01", () => {
    expect(applyConversation(state(0), 0, { pets: { mentions: 1, affinity: 0.005 } }, T).state.topic_metrics).toEqual({});
  });

  it("does not modify the state it is given", () => {
    const before = state(5, { movies: { mentions: 1, affinity: 0.5 } });
    const copy = structuredClone(before);
    applyConversation(before, 3, { movies: { mentions: 2, affinity: 1 } }, T);
    expect(before).toEqual(copy);
  });

  it("throws on a change that is not a finite number", () => {
    expect(() => applyConversation(state(5), Number.NaN, {}, T)).toThrow(/finite/);
  });

  it("keeps the sum of applied changes equal to the score", () => {
    const changes = [5.55, -10, 3.333, 7.777, -0.004, 12.5];
    let current = INITIAL_FRIENDSHIP_STATE;
    const applied: number[] = [];
    for (const change of changes) {
      const result = applyConversation(current, change, {}, T);
      current = result.state;
      applied.push(result.appliedChange);
    }
    expect(applied).toEqual([5.55, -5.55, 3.33, 7.78, 0, 12.5]);
    expect(current.friendship_score).toBe(23.61);
    expect(current.friendship_level).toBe("PHASE2_ACQUAINTANCE");
  });

  it("keeps the sum of applied changes equal to the score for any sequence of changes", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -30, max: 30, noNaN: true }), { maxLength: 50 }), (changes) => {
        let current = INITIAL_FRIENDSHIP_STATE;
        let sum = 0;
        for (const change of changes) {
          const result = applyConversation(current, change, {}, T);
          current = result.state;
          sum += result.appliedChange;
          expect(current.friendship_score).toBeGreaterThanOrEqual(0);
        }
        expect(Math.round(sum * 100) / 100 + 0).toBe(current.friendship_score);
      }),
    );
  });
});

describe("topicAffinity", () => {
  it("maps each topic to its affinity", () => {
    expect(
      topicAffinity({ movies: { mentions: 3, affinity: 0.65 }, music: { mentions: 1, affinity: 0.14 } }),
    ).toEqual({ movies: 0.65, music: 0.14 });
  });

  it("is empty for no topics", () => {
    expect(topicAffinity({})).toEqual({});
  });
});
