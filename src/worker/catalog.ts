// The agent catalog as the worker reads it: at most once a minute, since it changes rarely.
import type { Db } from "../db/pool.js";
import type { CatalogAgent } from "../domain.js";

/** The enabled agents, read at most once every `ttlMs`. */
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
