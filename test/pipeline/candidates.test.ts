import { describe, it, expect } from "vitest";
import { rankCandidates } from "../../src/pipeline/candidates.js";
import { FRIENDSHIP_LEVELS } from "../../src/domain.js";
import type { BotType, CatalogAgent, FriendshipLevel } from "../../src/domain.js";

const ALL = [...FRIENDSHIP_LEVELS];

const agent = (
  agent_id: string,
  agent_type: BotType,
  topics: string[],
  levels: FriendshipLevel[] = ALL,
): CatalogAgent => ({ agent_id, agent_type, name: `Name of ${agent_id}`, topics, levels });

const ranked = (agent_id: string, score: number) => ({ agent_id, name: `Name of ${agent_id}`, score });

const catalog: CatalogAgent[] = [
  agent("talk_general", "TALK", []),
  agent("talk_music", "TALK", ["music"]),
  agent("talk_movies", "TALK", ["movies"]),
  agent("talk_friends_only", "TALK", ["movies", "music"], ["PHASE3_FRIEND"]),
  agent("game_draw", "GAME_ACTIVITY", ["art"]),
  agent("game_trivia", "GAME_ACTIVITY", ["movies", "music"]),
  agent("greet_b", "GREETING", []),
  agent("greet_a", "GREETING", []),
];
const affinity = { movies: 0.6, music: 0.3 };

const base = { catalog, level: "PHASE1_STRANGER" as FriendshipLevel, topicAffinity: affinity, recentAgentIds: [], limit: 3 };

describe("rankCandidates", () => {
  it("ranks by summed topic affinity plus 0.01, agents without matching topics last", () => {
    expect(rankCandidates(base)).toEqual({
      greeting_agent: ranked("greet_a", 0.01),
      talk_candidates: [ranked("talk_movies", 0.61), ranked("talk_music", 0.31), ranked("talk_general", 0.01)],
      game_candidates: [ranked("game_trivia", 0.91), ranked("game_draw", 0.01)],
    });
  });

  it("offers only agents whose levels include the user's level", () => {
    const friend = rankCandidates({ ...base, level: "PHASE3_FRIEND" });
    expect(friend.talk_candidates.map((a) => a.agent_id)).toEqual(["talk_friends_only", "talk_movies", "talk_music"]);
    expect(friend.talk_candidates[0]?.score).toBe(0.91);
    const stranger = rankCandidates(base);
    expect(stranger.talk_candidates.map((a) => a.agent_id)).not.toContain("talk_friends_only");
  });

  it("multiplies the score of recently used agents by 0.25, so fresh agents of similar interest come first", () => {
    const result = rankCandidates({ ...base, recentAgentIds: ["talk_movies", "game_trivia"] });
    expect(result.talk_candidates).toEqual([
      ranked("talk_music", 0.31),
      ranked("talk_movies", 0.1525),
      ranked("talk_general", 0.01),
    ]);
    expect(result.game_candidates).toEqual([ranked("game_trivia", 0.2275), ranked("game_draw", 0.01)]);
  });

  it("still offers a recently used agent when nothing else fits", () => {
    const result = rankCandidates({ ...base, catalog: [agent("talk_movies", "TALK", ["movies"])], recentAgentIds: ["talk_movies"] });
    expect(result.talk_candidates).toEqual([ranked("talk_movies", 0.1525)]);
  });

  it("breaks ties by agent_id ascending, whatever the catalog order", () => {
    const tied = [agent("talk_c", "TALK", ["music"]), agent("talk_a", "TALK", ["music"]), agent("talk_b", "TALK", ["music"])];
    const ids = (list: CatalogAgent[]) => rankCandidates({ ...base, catalog: list }).talk_candidates.map((a) => a.agent_id);
    expect(ids(tied)).toEqual(["talk_a", "talk_b", "talk_c"]);
    expect(ids([...tied].reverse())).toEqual(["talk_a", "talk_b", "talk_c"]);
  });

  it("returns at most limit talk and game candidates", () => {
    const one = rankCandidates({ ...base, limit: 1 });
    expect(one.talk_candidates).toEqual([ranked("talk_movies", 0.61)]);
    expect(one.game_candidates).toEqual([ranked("game_trivia", 0.91)]);
    const none = rankCandidates({ ...base, limit: 0 });
    expect(none.talk_candidates).toEqual([]);
    expect(none.game_candidates).toEqual([]);
    expect(none.greeting_agent).toEqual(ranked("greet_a", 0.01));
  });

  it("picks the best greeting agent by the same scoring", () => {
    const withTopics = [...catalog, agent("greet_movies", "GREETING", ["movies"])];
    expect(rankCandidates({ ...base, catalog: withTopics }).greeting_agent).toEqual(ranked("greet_movies", 0.61));
    expect(
      rankCandidates({ ...base, catalog: withTopics, recentAgentIds: ["greet_movies"] }).greeting_agent,
    ).toEqual(ranked("greet_movies", 0.1525));
    expect(
      rankCandidates({ ...base, catalog: withTopics, recentAgentIds: ["greet_movies", "greet_a"] }).greeting_agent,
    ).toEqual(ranked("greet_movies", 0.1525));
  });

  it("has no greeting agent when none is offered at the user's level", () => {
    const list = [agent("greet_friend", "GREETING", [], ["PHASE3_FRIEND"]), agent("talk_general", "TALK", [])];
    expect(rankCandidates({ ...base, catalog: list }).greeting_agent).toBeNull();
  });

  it("is empty for an empty catalog", () => {
    expect(rankCandidates({ ...base, catalog: [] })).toEqual({ greeting_agent: null, talk_candidates: [], game_candidates: [] });
  });

  it("counts a topic listed twice by an agent once, and rounds scores to 4 decimals", () => {
    const list = [agent("talk_x", "TALK", ["music", "music"])];
    expect(rankCandidates({ ...base, catalog: list, topicAffinity: { music: 1 / 3 } }).talk_candidates).toEqual([
      ranked("talk_x", 0.3433),
    ]);
  });

  it("ranks every agent at the base score when the user has no topics", () => {
    const result = rankCandidates({ ...base, topicAffinity: {} });
    expect(result.talk_candidates).toEqual([
      ranked("talk_general", 0.01),
      ranked("talk_movies", 0.01),
      ranked("talk_music", 0.01),
    ]);
  });

  it("throws on a limit that is not a non-negative integer", () => {
    expect(() => rankCandidates({ ...base, limit: -1 })).toThrow(/limit/);
    expect(() => rankCandidates({ ...base, limit: 1.5 })).toThrow(/limit/);
  });
});
