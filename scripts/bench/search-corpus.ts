// The database scenario 6 searches: sample conversations stored through
// parley.end_conversations (so messages get their search_vector and index
// entries the way production writes them), one user with many of them among
// many users, then marked PROCESSED with a unit vector each, set-based.
import type pg from "pg";
import { sampleConversations } from "../lib/sample-conversations.js";

export interface SearchCorpus {
  /** The user whose searches are timed. */
  profileId: string;
  conversations: number;
  targetConversations: number;
  dimension: number;
}

const BATCH = 200;

/**
 * Stores `conversations` sample conversations, `targetConversations` of them
 * of one user, the rest spread over `otherUsers` users, with 20 messages each.
 * Vectors are random unit vectors of `dimension` (search cost does not depend
 * on what they mean; scripts/search-recall.ts measures recall with the real model).
 */
export async function generateSearchCorpus(pool: pg.Pool, options: {
  conversations: number;
  targetConversations: number;
  otherUsers: number;
  dimension: number;
  seed: number;
  onProgress?: (stored: number) => void;
}): Promise<SearchCorpus> {
  const messages: [number, number] = [20, 20];
  const target = sampleConversations(options.targetConversations, options.seed, {
    users: 1, userPrefix: "search_user_", idPrefix: "st_", messages,
  });
  const others = sampleConversations(options.conversations - options.targetConversations, options.seed + 1, {
    users: options.otherUsers, userPrefix: "search_other_", idPrefix: "so_", messages,
  });
  const profileId = target[0]!.profile_id;
  // Interleaved, as a user's conversations arrive among everyone else's.
  const all = others.slice();
  target.forEach((conversation, i) => all.splice(Math.floor((i * all.length) / target.length) + i, 0, conversation));
  for (let i = 0; i < all.length; i += BATCH) {
    await pool.query("select parley.end_conversations($1)", [JSON.stringify(all.slice(i, i + BATCH))]);
    options.onProgress?.(Math.min(i + BATCH, all.length));
  }

  const client = await pool.connect();
  try {
    // Nobody processes this database: its jobs go, its events are marked done.
    await client.query("delete from graphile_worker._private_jobs");
    await client.query(`update parley.conversation_events
      set status = 'PROCESSED', attempt_count = 1, last_attempt_at = now(), processed_at = now()`);
    await client.query(`
      insert into parley.conversation_embeddings (conversation_id, model, dimension, embedding)
      select c.conversation_id, 'bench-random', $1, v.embedding
      from parley.conversations c,
           lateral (select array_agg((x / norm)::real order by i) as embedding
                    from (select i, x, sqrt(sum(x * x) over ()) as norm
                          from (select i, random() - 0.5 + length(c.conversation_id) * 0 as x
                                from generate_series(1, $1::int) as i) as raw) as scaled) as v`, [options.dimension]);
    await client.query("vacuum (analyze) parley.conversations, parley.messages, parley.conversation_events, parley.conversation_embeddings");
  } finally {
    client.release();
  }
  return { profileId, conversations: all.length, targetConversations: target.length, dimension: options.dimension };
}

/** A unit vector of `dimension` from `random`, as search_conversations takes it. */
export function randomUnitVector(dimension: number, random: () => number): number[] {
  const raw = Array.from({ length: dimension }, () => random() - 0.5);
  const norm = Math.sqrt(raw.reduce((sum, x) => sum + x * x, 0));
  return raw.map((x) => x / norm);
}
