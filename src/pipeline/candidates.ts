// Which agents to offer a user next time. Pure: data in, data out.

import type { AgentCandidates, BotType, CatalogAgent, FriendshipLevel, RankedAgent } from "../domain.js";
import { round } from "./round.js";

/** Every eligible agent scores at least this, so agents with no topic in common still rank. */
const BASE_SCORE = 0.01;
/** Recently used agents keep this share of their score. */
const RECENT_PENALTY = 0.25;

/**
 * Ranks the catalog for one user.
 *
 * - Only agents whose `levels` include the user's `level` are offered.
 * - score = 0.01 + the user's affinity summed over the agent's topics (each topic once), then
 *   multiplied by 0.25 when the agent is in `recentAgentIds`: a recently used agent comes after
 *   fresh agents of similar interest but is still offered when nothing else fits.
 * - Order: score (rounded to 4 decimals, as returned) descending, then `agent_id` ascending.
 * - talk_candidates and game_candidates: the first `limit` TALK and GAME_ACTIVITY agents;
 *   greeting_agent: the first GREETING agent, or null.
 */
export function rankCandidates(input: {
  catalog: CatalogAgent[];
  level: FriendshipLevel;
  topicAffinity: Record<string, number>;
  recentAgentIds: string[];
  limit: number;
}): AgentCandidates {
  const { catalog, level, topicAffinity, limit } = input;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new RangeError(`rankCandidates: limit must be a non-negative integer, got ${limit}`);
  }
  const recent = new Set(input.recentAgentIds);

  const ranked = catalog
    .filter((agent) => agent.levels.includes(level))
    .map((agent) => {
      let score = BASE_SCORE;
      for (const topic of new Set(agent.topics)) score += topicAffinity[topic] ?? 0;
      if (recent.has(agent.agent_id)) score *= RECENT_PENALTY;
      return { type: agent.agent_type, agent: { agent_id: agent.agent_id, name: agent.name, score: round(score, 4) } };
    })
    .sort(
      (a, b) =>
        b.agent.score - a.agent.score ||
        (a.agent.agent_id < b.agent.agent_id ? -1 : a.agent.agent_id > b.agent.agent_id ? 1 : 0),
    );

  const ofType = (type: BotType): RankedAgent[] =>
    ranked.filter((entry) => entry.type === type).map((entry) => entry.agent);

  return {
    greeting_agent: ofType("GREETING")[0] ?? null,
    talk_candidates: ofType("TALK").slice(0, limit),
    game_candidates: ofType("GAME_ACTIVITY").slice(0, limit),
  };
}
