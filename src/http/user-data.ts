// The API's calls of the SQL API for a user's memory and data: search and
// forget. (Export streams: export-stream.ts.)
import { sql } from "kysely";
import type { Db } from "../db/pool.js";
import { fromDatabaseError, ParleyError } from "../ingest/errors.js";
import type { BotType } from "../domain.js";
import type { Forgotten, SearchQuery, SearchResults } from "./route-schemas.js";

type SearchHit = SearchResults["results"][number];

/** parley.search_conversations; its errors name the HTTP parameter (from, q), not the SQL one (filters.from, query). */
export async function searchConversations(db: Db, profileId: string, query: SearchQuery, embedding: readonly number[] | null): Promise<SearchHit[]> {
  const filters = Object.fromEntries(
    (["from", "to", "bot_type", "bot_id"] as const).flatMap((key) => (query[key] === undefined ? [] : [[key, query[key]]])));
  try {
    const { rows } = await sql<{
      conversation_id: string; score: number; ended_at: Date | null; started_at: Date; bot_type: BotType; bot_id: string;
      snippet: string | null; snippet_seq: number | null; keyword_rank: number | null; vector_rank: number | null;
    }>`select * from parley.search_conversations(${profileId}, ${query.q}, ${query.k},
         ${embedding === null ? null : `{${embedding.join(",")}}`}::real[], ${JSON.stringify(filters)}::jsonb)`.execute(db);
    return rows.map((row) => ({
      ...row,
      ended_at: row.ended_at === null ? null : row.ended_at.toISOString(),
      started_at: row.started_at.toISOString(),
    }));
  } catch (error) {
    throw asHttpParameter(error);
  }
}

const HTTP_NAMES: Record<string, string> = { query: "q", "filters.from": "from", "filters.to": "to", "filters.bot_type": "bot_type", "filters.bot_id": "bot_id" };

function asHttpParameter(error: unknown): unknown {
  const known = fromDatabaseError(error);
  const name = known?.field === undefined ? undefined : HTTP_NAMES[known.field];
  if (!known || name === undefined) return error;
  return new ParleyError(known.code, `${name}${known.message.slice(known.field!.length)}`, name, { cause: error });
}

export async function forgetUser(db: Db, profileId: string): Promise<Forgotten> {
  const { rows } = await sql<{ counts: Forgotten }>`select parley.forget_user(${profileId}) as counts`.execute(db);
  return rows[0]!.counts;
}
