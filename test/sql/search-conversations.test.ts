// parley.search_conversations: full-text search over one user's messages,
// fused with vector similarity, filtered, and never another user's rows.
import { describe, expect } from "vitest";
import { it, type TestDatabase } from "../support/database.js";
import { conversationPayload, endConversation, sqlRejection, uniqueId } from "../support/fixtures.js";
import { endConversations } from "../support/user-data.js";

interface Hit {
  conversation_id: string;
  score: number;
  ended_at: Date | null;
  bot_id: string;
  snippet: string | null;
  bot_type: string;
  snippet_seq: number | null;
  keyword_rank: number | null;
  vector_rank: number | null;
}

async function search(database: TestDatabase, profileId: string, query: string | null, options: { k?: number; embedding?: number[] | null; filters?: unknown } = {}): Promise<Hit[]> {
  const { rows } = await database.pool.query<Hit>(
    "select * from parley.search_conversations($1, $2, $3, $4::real[], $5::jsonb)",
    [profileId, query, options.k ?? 10, options.embedding ?? null, JSON.stringify(options.filters ?? {})]);
  return rows;
}

/** A unit vector along axis `axis` of 8 dimensions, a little tilted toward `towards`. */
function unit(axis: number, towards?: number, tilt = 0.3): number[] {
  const vector = Array.from({ length: 8 }, (_, i) => (i === axis ? 1 : i === towards ? tilt : 0));
  const norm = Math.hypot(...vector);
  return vector.map((x) => x / norm);
}

async function storeVector(database: TestDatabase, conversationId: string, vector: number[]): Promise<void> {
  await database.pool.query(
    `insert into parley.conversation_embeddings (conversation_id, model, dimension, embedding) values ($1, 'test-8', 8, $2::real[])`,
    [conversationId, vector]);
}

describe("keywords", () => {
  it("finds the user's conversations by words in any message, more of the words first, with the best message as snippet", async ({ database }) => {
    const profileId = uniqueId("search");
    const [both, dune, cat] = await endConversations(database.pool, profileId, [
      ["I finally watched Dune", "Did you like the sandworms?", "Dune's sandworm scenes were huge"],
      ["Dune is long but worth it", "Agreed"],
      ["My cat ignores me", "Cats do that"],
    ]);
    const hits = await search(database, profileId, "dune sandworm");
    expect(hits.map((hit) => hit.conversation_id)).toEqual([both!.conversationId, dune!.conversationId]);
    expect(hits[0]).toMatchObject({ bot_id: "talk_movie_preference", bot_type: "TALK", keyword_rank: 1, vector_rank: null });
    // The message holding both words ranks above those with one.
    expect(hits[0]!.snippet).toBe("Dune's sandworm scenes were huge");
    expect(hits[0]!.ended_at!.toISOString()).toBe("2025-11-25T18:20:00.000Z");
    expect(hits[0]!.score).toBeCloseTo(1 / 61, 10);
    expect(hits.map((hit) => hit.conversation_id)).not.toContain(cat!.conversationId);
  });

  it("matches word forms through the english configuration (movies finds movie) and skips stop words", async ({ database }) => {
    const profileId = uniqueId("stem");
    const [movie] = await endConversations(database.pool, profileId, [["I love a good movie on Sundays"]]);
    expect((await search(database, profileId, "the movies")).map((hit) => hit.conversation_id)).toEqual([movie!.conversationId]);
    expect(await search(database, profileId, "the and of")).toEqual([]);
  });

  it("treats the query as words, not as tsquery syntax or a pattern", async ({ database }) => {
    const profileId = uniqueId("syntax");
    const [quote] = await endConversations(database.pool, profileId, [["It's a 100% o'clock kind of day: a&b | !c"]]);
    for (const query of ["o'clock", "100%", "a&b | !c", "'); drop table parley.messages; --", "\\"]) {
      const hits = await search(database, profileId, query);
      expect(hits.length, query).toBeLessThanOrEqual(1);
      if (hits.length === 1) expect(hits[0]!.conversation_id).toBe(quote!.conversationId);
    }
    expect((await search(database, profileId, "o'clock")).length).toBe(1);
  });

  it("returns at most k results and cuts a long message to the words around the match", async ({ database }) => {
    const profileId = uniqueId("k");
    const long = `${"filler words about nothing in particular ".repeat(20)}the telescope arrived today ${"and more filler after it ".repeat(20)}`;
    await endConversations(database.pool, profileId, Array.from({ length: 5 }, () => [long]));
    const hits = await search(database, profileId, "telescope", { k: 3 });
    expect(hits).toHaveLength(3);
    expect(hits[0]!.snippet!.length).toBeLessThan(long.length / 2);
    expect(hits[0]!.snippet).toContain("telescope");
  });
});

describe("isolation", () => {
  it("returns only the exact profile's conversations, whatever _ % or \\ its id holds", async ({ database }) => {
    const ids = ["u_1", "u%1", "u\\1", "uX1", "u_1_", "u%", "%", "_"];
    const owners = new Map<string, string>();
    for (const id of ids) {
      const [conversation] = await endConversations(database.pool, id, [["the lighthouse keeper waved"]]);
      owners.set(conversation!.conversationId, id);
    }
    for (const id of ids) {
      const hits = await search(database, id, "lighthouse");
      expect(hits.map((hit) => owners.get(hit.conversation_id)), id).toEqual([id]);
    }
    expect(await search(database, "u", "lighthouse")).toEqual([]);
  });
});

describe("vectors", () => {
  it("fuses keyword and vector rankings by reciprocal rank: agreement beats either alone", async ({ database }) => {
    const profileId = uniqueId("hybrid");
    const [keywordOnly, both, vectorOnly, farther] = await endConversations(database.pool, profileId, [
      ["We talked about the harbor and the harbor again, harbor harbor"],
      ["A walk by the harbor"],
      ["Boats and sails and the open sea"],
      ["Lighthouses at night"],
    ]);
    await storeVector(database, keywordOnly!.conversationId, unit(5));
    await storeVector(database, both!.conversationId, unit(0, 1, 0.5));
    await storeVector(database, vectorOnly!.conversationId, unit(0, 1, 0.1));
    await storeVector(database, farther!.conversationId, unit(0, 1, 0.7));
    const hits = await search(database, profileId, "harbor", { embedding: unit(0) });
    // 2/62 for second in both rankings beats 1/61 + 1/64 for first and last.
    expect(hits.map((hit) => [hit.conversation_id, hit.keyword_rank, hit.vector_rank])).toEqual([
      [both!.conversationId, 2, 2],
      [keywordOnly!.conversationId, 1, 4],
      [vectorOnly!.conversationId, null, 1],
      [farther!.conversationId, null, 3],
    ]);
    expect(hits[0]!.score).toBeCloseTo(2 / 62, 10);
    // A vector-only hit still gets a snippet: the user's first message.
    expect(hits[2]!.snippet).toBe("Boats and sails and the open sea");
  });

  it("searches by vector alone when the query has no text, nearest first, and compares only vectors of its dimension", async ({ database }) => {
    const profileId = uniqueId("vector");
    const seeded = await endConversations(database.pool, profileId, [["one"], ["two"], ["three"], ["other model"]]);
    await storeVector(database, seeded[0]!.conversationId, unit(2, 3, 0.9));
    await storeVector(database, seeded[1]!.conversationId, unit(2));
    await storeVector(database, seeded[2]!.conversationId, unit(2, 3, 0.3));
    await database.pool.query(
      `insert into parley.conversation_embeddings (conversation_id, model, dimension, embedding) values ($1, 'test-4', 4, '{0,0,1,0}')`,
      [seeded[3]!.conversationId]);
    const hits = await search(database, profileId, null, { embedding: unit(2) });
    expect(hits.map((hit) => hit.conversation_id)).toEqual([1, 2, 0].map((i) => seeded[i]!.conversationId));
    expect(hits.map((hit) => hit.keyword_rank)).toEqual([null, null, null]);
  });

  it("beyond the candidate pool, the sign signatures keep the nearest vector among those scored exactly", async ({ database }) => {
    const profileId = uniqueId("pool");
    const count = 130;
    const seeded = await endConversations(database.pool, profileId, Array.from({ length: count }, (_, i) => [`conversation ${i}`]));
    // Deterministic pseudo-random unit vectors; the query is a copy of conversation 77's.
    let seed = 7;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
    const vectors = seeded.map(() => {
      const raw = Array.from({ length: 8 }, next);
      const norm = Math.hypot(...raw);
      return raw.map((x) => x / norm);
    });
    for (const [i, conversation] of seeded.entries()) await storeVector(database, conversation.conversationId, vectors[i]!);
    const hits = await search(database, profileId, null, { embedding: vectors[77], k: 5 });
    expect(hits[0]!.conversation_id).toBe(seeded[77]!.conversationId);
    const { rows } = await database.pool.query<{ n: number }>(
      "select count(*)::int as n from parley._vector_ranking($1, $2::real[], 100)", [seeded.map((c) => c.conversationId), vectors[77]]);
    expect(rows[0]!.n).toBe(100);
  });

  it("uses real[] here, where the pgvector extension is not installed", async ({ database }) => {
    const { rows } = await database.pool.query<{ schema: string | null; available: boolean }>(
      "select parley._pgvector_schema() as schema, exists (select from pg_extension where extname = 'vector') as available");
    expect(rows[0]).toEqual({ schema: null, available: false });
  });
});

describe("filters", () => {
  it("filters on ended_at (from, to), bot_type and bot_id", async ({ database }) => {
    const profileId = uniqueId("filters");
    const early = conversationPayload({ profile_id: profileId, start_time: "2025-01-01T10:00:00Z", end_time: "2025-01-01T10:10:00Z",
      conversation_log: [{ role: "user", content: "pancakes for breakfast" }] });
    const late = conversationPayload({ profile_id: profileId, start_time: "2025-06-01T10:00:00Z", end_time: "2025-06-01T10:10:00Z",
      bot_type: "GAME_ACTIVITY", bot_id: "game_movie_quiz", bot_name: "Movie Quiz",
      conversation_log: [{ role: "user", content: "pancakes again" }] });
    await endConversation(database.pool, early);
    await endConversation(database.pool, late);
    const ids = async (filters: unknown) => (await search(database, profileId, "pancakes", { filters })).map((hit) => hit.conversation_id);
    expect(await ids({})).toHaveLength(2);
    expect(await ids({ from: "2025-03-01T00:00:00Z" })).toEqual([late.conversation_id]);
    expect(await ids({ to: "2025-03-01T00:00:00Z" })).toEqual([early.conversation_id]);
    expect(await ids({ from: "2025-01-01T10:10:00Z", to: "2025-01-01T10:10:00Z" })).toEqual([early.conversation_id]);
    expect(await ids({ bot_type: "GAME_ACTIVITY" })).toEqual([late.conversation_id]);
    expect(await ids({ bot_id: "talk_movie_preference" })).toEqual([early.conversation_id]);
    expect(await ids({ bot_type: "GREETING" })).toEqual([]);
  });

  it("rejects an unknown filter or a bad value with 22023 naming it", async ({ database }) => {
    const cases: Array<[unknown, string]> = [
      [{ colour: "red" }, "filters.colour"],
      [{ from: "yesterday" }, "filters.from"],
      [{ to: "2025-01-01T00:00:00" }, "filters.to"],
      [{ from: "2025-02-01T00:00:00Z", to: "2025-01-01T00:00:00Z" }, "filters.to"],
      [{ bot_type: "CHAT" }, "filters.bot_type"],
      [{ bot_type: 3 }, "filters.bot_type"],
      [{ bot_id: "" }, "filters.bot_id"],
      [[], "filters"],
    ];
    for (const [filters, field] of cases) {
      const error = await sqlRejection(search(database, "anyone", "words", { filters }));
      expect([error.code, error.column], JSON.stringify(filters)).toEqual(["22023", field]);
      expect(error.message.startsWith(`${field}: `)).toBe(true);
    }
  });

  it("rejects bad arguments with 22023 naming them", async ({ database }) => {
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => search(database, "", "words"), "profile_id"],
      [() => search(database, "x".repeat(201), "words"), "profile_id"],
      [() => search(database, "anyone", "words", { k: 0 }), "k"],
      [() => search(database, "anyone", "words", { k: 101 }), "k"],
      [() => search(database, "anyone", null), "query"],
      [() => search(database, "anyone", "   "), "query"],
      [() => search(database, "anyone", "x".repeat(1001)), "query"],
      [() => search(database, "anyone", "words", { embedding: [] }), "query_embedding"],
      [() => search(database, "anyone", "words", { embedding: [0, 0, 0] }), "query_embedding"],
      [() => database.pool.query("select * from parley.search_conversations('anyone', 'words', 10, '{1,NULL}'::real[])"), "query_embedding"],
      [() => database.pool.query("select * from parley.search_conversations('anyone', 'words', 10, '{1,NaN}'::real[])"), "query_embedding"],
      [() => database.pool.query("select * from parley.search_conversations('anyone', 'words', 10, '{{1},{2}}'::real[])"), "query_embedding"],
    ];
    for (const [call, field] of cases) {
      const error = await sqlRejection(call());
      expect([error.code, error.column]).toEqual(["22023", field]);
    }
  });
});

describe("language", () => {
  it("set_search_language rebuilds the search column: simple stops stemming, english brings it back", async ({ database }) => {
    const profileId = uniqueId("language");
    const [movie] = await endConversations(database.pool, profileId, [["a movie night"]]);
    await database.pool.query("select parley.set_search_language('simple')");
    try {
      expect(await search(database, profileId, "movies")).toEqual([]);
      expect((await search(database, profileId, "movie")).map((hit) => hit.conversation_id)).toEqual([movie!.conversationId]);
    } finally {
      await database.pool.query("select parley.set_search_language('english')");
    }
    expect((await search(database, profileId, "movies")).map((hit) => hit.conversation_id)).toEqual([movie!.conversationId]);
    const { rows } = await database.pool.query<{ language: string }>("select parley.search_language()::text as language");
    expect(rows[0]!.language).toBe("english");
  });

  it("rejects a configuration that does not exist with 22023 naming language", async ({ database }) => {
    const error = await sqlRejection(database.pool.query("select parley.set_search_language('klingon')"));
    expect([error.code, error.column]).toEqual(["22023", "language"]);
  });
});
