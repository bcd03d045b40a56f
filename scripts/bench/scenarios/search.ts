// Scenario 6: a user's memory. Two measures:
//   write cost: what the search column and its GIN index add to
//               end_conversation (20 messages) and to the raw floor's plain
//               INSERT of the same rows: three databases (as migrated, without
//               the index, without the column), calls interleaved one by one
//               so that the machine's load hits them alike;
//   search:     parley.search_conversations for a user with 1,000
//               conversations among 20,000 (--quick: 100 among 2,000),
//               keywords alone and hybrid (a 512-dimension query vector),
//               against the same search scoring every vector exactly and a
//               plain ILIKE scan of the user's messages.
import type pg from "pg";
import { createPool } from "../../../src/db/pool.js";
import type { BenchContext } from "../context.js";
import { insertConversations } from "../baselines/plain-sql.js";
import { makePayloads } from "../payloads.js";
import { generateSearchCorpus, randomUnitVector } from "../search-corpus.js";
import { summarize } from "../stats.js";

const SCHEMAS = [
  ["as migrated", []],
  ["without the GIN index", ["drop index parley.messages_search"]],
  // Dropping the column drops its index with it: the schema before migration 0005.
  ["without the search column", ["alter table parley.messages drop column search_vector"]],
] as const;

/** Words people look for in the sample conversations: topics, names, and words found nowhere. */
const QUERIES = [
  "dune", "movie night", "jazz concert", "guitar", "my dog", "hiking trip", "pizza", "football match",
  "new phone", "science museum", "job interview", "travel to japan", "chess", "painting",
  "family dinner", "novel", "marathon", "coffee", "video games", "xylophone quartet",
];

export async function runSearch(context: BenchContext): Promise<void> {
  await writeCost(context);
  await searchLatency(context);
}

async function writeCost(context: BenchContext): Promise<void> {
  const { plan, results } = context;
  const count = plan.searchWriteCalls;
  const databases: Array<{ label: string; url: string; pool: pg.Pool }> = [];
  try {
    for (const [label, statements] of SCHEMAS) {
      const url = await context.databases.clone(`search_write_${databases.length}`);
      const pool = createPool(url, 2, "parley-bench-search-write");
      for (const statement of statements) await pool.query(statement);
      databases.push({ label, url, pool });
    }
    const warm = 5;
    const set = makePayloads(2 * (count + warm), context.seed + 6, "sw");
    const latencies = new Map<string, { parley: number[]; raw: number[] }>(databases.map((db) => [db.label, { parley: [], raw: [] }]));
    context.progress(`6. search, write cost: ${count} end_conversation calls and ${count} plain INSERTs on each of ${databases.length} schemas, interleaved`);
    for (let i = 0; i < count + warm; i++) {
      for (const db of databases) {
        const own = latencies.get(db.label)!;
        let started = performance.now();
        await db.pool.query("select parley.end_conversation($1)", [set.json[2 * i]]);
        // The first calls open connections and warm caches.
        if (i >= warm) own.parley.push(performance.now() - started);
        started = performance.now();
        await insertConversations(db.pool, [set.payloads[2 * i + 1]!]);
        if (i >= warm) own.raw.push(performance.now() - started);
      }
    }
    for (const [label, own] of latencies) {
      results.distribution("search", `end_conversation, ${label}`, "parley", own.parley);
      results.distribution("search", `end_conversation, ${label}`, "raw-floor", own.raw, "plain multi-row INSERT of the same rows");
      results.value("search", `end_conversation, ${label} mean`, "ms", "lower", "parley", mean(own.parley));
      results.value("search", `end_conversation, ${label} mean`, "ms", "lower", "raw-floor", mean(own.raw));
    }
    const base = latencies.get("without the search column")!;
    const full = latencies.get("as migrated")!;
    results.note(`Scenario 6, write cost: with the search column and its GIN index, end_conversation (20 messages) took ${ratio(mean(full.parley), mean(base.parley))} the mean time it takes without them (${mean(full.parley).toFixed(2)} ms against ${mean(base.parley).toFixed(2)} ms); the raw floor's INSERT of the same rows ${ratio(mean(full.raw), mean(base.raw))} (${mean(full.raw).toFixed(2)} ms against ${mean(base.raw).toFixed(2)} ms). ${count} calls each, interleaved.`);
  } finally {
    for (const db of databases) {
      await db.pool.end();
      await context.databases.drop(db.url);
    }
  }
}

async function searchLatency(context: BenchContext): Promise<void> {
  const { plan, results } = context;
  const url = await context.databases.clone("search");
  const pool = createPool(url, 2, "parley-bench-search");
  try {
    context.progress(`6. search: storing ${plan.searchConversations.toLocaleString("en-US")} conversations, ${plan.searchUserConversations.toLocaleString("en-US")} of them one user's`);
    const started = performance.now();
    const corpus = await generateSearchCorpus(pool, {
      conversations: plan.searchConversations,
      targetConversations: plan.searchUserConversations,
      otherUsers: Math.max(10, Math.round(plan.searchConversations / 20)),
      dimension: 512,
      seed: context.seed,
    });
    results.note(`Scenario 6's ${corpus.conversations.toLocaleString("en-US")} conversations (20 messages each; ${corpus.targetConversations.toLocaleString("en-US")} of user ${corpus.profileId}) were stored through parley.end_conversations and given random unit vectors of ${corpus.dimension} dimensions in ${((performance.now() - started) / 1000).toFixed(1)} s.`);

    let seed = context.seed;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const { rows: [ids] } = await pool.query<{ ids: string[] }>(
      "select array_agg(conversation_id) as ids from parley.conversations where profile_id = $1", [corpus.profileId]);
    const measures: Array<{ name: string; note?: string; run: (query: string, vector: number[]) => Promise<unknown> }> = [
      {
        name: "search, keywords only",
        run: (query) => pool.query("select * from parley.search_conversations($1, $2, 10)", [corpus.profileId, query]),
      },
      {
        name: "search, hybrid",
        note: "keywords fused with a 512-dimension query vector; signatures pick 100 candidates, scored exactly",
        run: (query, vector) => pool.query("select * from parley.search_conversations($1, $2, 10, $3::real[])", [corpus.profileId, query, vector]),
      },
      {
        name: "vector ranking, signatures then 100 exact",
        run: (_query, vector) => pool.query("select * from parley._vector_ranking($1, $2::real[], 100)", [ids!.ids, vector]),
      },
      {
        name: "vector ranking, every vector exact (baseline)",
        note: "the same PL/pgSQL dot product over all of the user's vectors",
        run: (_query, vector) => pool.query("select * from parley._vector_ranking($1, $2::real[], 1000000)", [ids!.ids, vector]),
      },
      {
        name: "ILIKE scan of the user's messages (baseline)",
        note: "select distinct conversations whose messages contain the query text, no ranking",
        run: (query) => pool.query(
          `select distinct m.conversation_id from parley.messages m join parley.conversations c using (conversation_id)
           where c.profile_id = $1 and m.content ilike '%' || $2 || '%' limit 10`, [corpus.profileId, query]),
      },
    ];
    const latencies = new Map<string, number[]>(measures.map((measure) => [measure.name, []]));
    context.progress(`6. search: ${QUERIES.length} queries x ${plan.searchRepeats} rounds, ${measures.length} measures interleaved`);
    for (let round = 0; round < plan.searchRepeats + 1; round++) {
      for (const query of QUERIES) {
        const vector = randomUnitVector(corpus.dimension, random);
        for (const measure of measures) {
          const t = performance.now();
          await measure.run(query, vector);
          // Round 0 warms the caches and is not counted.
          if (round > 0) latencies.get(measure.name)!.push(performance.now() - t);
        }
      }
    }
    for (const measure of measures) results.distribution("search", measure.name, "parley", latencies.get(measure.name)!, measure.note);
    const hybrid = p95(latencies.get("search, hybrid")!);
    const exact = p95(latencies.get("vector ranking, every vector exact (baseline)")!);
    const prefiltered = p95(latencies.get("vector ranking, signatures then 100 exact")!);
    results.target("search_p95_ms", hybrid);
    results.note(`Scenario 6, search: hybrid p95 ${hybrid.toFixed(1)} ms for a user with ${corpus.targetConversations.toLocaleString("en-US")} conversations among ${corpus.conversations.toLocaleString("en-US")}; its vector half at p95 takes ${ratio(prefiltered, exact)} the time of scoring every vector exactly (${prefiltered.toFixed(1)} ms against ${exact.toFixed(1)} ms).`);
    if (plan.searchConversations < 20_000) results.note(`Scenario 6 ran on ${plan.searchConversations.toLocaleString("en-US")} conversations (--quick); the full run uses 20,000 with 1,000 for one user.`);
  } finally {
    await pool.end();
    await context.databases.drop(url);
  }
}

function mean(values: readonly number[]): number {
  return summarize(values)?.mean ?? Number.NaN;
}

function p95(values: readonly number[]): number {
  return summarize(values)?.p95 ?? Number.NaN;
}

function ratio(value: number, baseline: number): string {
  return `${(value / baseline).toFixed(2)}x`;
}
