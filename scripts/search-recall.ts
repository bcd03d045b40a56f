// `npx tsx scripts/search-recall.ts [local|hashing]`: how often the sign
// signatures' nearest candidates (parley._vector_ranking without pgvector)
// contain the exact top 10, on 1,000 sample conversations of one user and 20
// short queries embedded with a real embedder. README, "Vectors without
// pgvector", quotes its output. Pure computation: no database.
import { sampleConversations } from "./lib/sample-conversations.js";
import { CachedEmbedder, createEmbedder } from "../src/embed/index.js";
import { meanVector } from "../src/pipeline/vectors.js";
import { loadConfig } from "../src/config.js";

const QUERIES = [
  "dune movie", "jazz concert", "my dog", "hiking in the mountains", "pizza recipe", "football match", "learning guitar",
  "new phone", "science museum", "job interview", "travel to japan", "chess game", "painting class", "family dinner",
  "reading a novel", "marathon training", "coffee", "video games", "birthday party", "rainy weather",
];
const K = 10;

const name = process.argv[2] === "hashing" ? "hashing" : "local";
const embedder = new CachedEmbedder(createEmbedder(name, loadConfig().embedding), { maxEntries: 100_000 });
const conversations = sampleConversations(1000, 7, { users: 1 });
const vectors: Float32Array[] = [];
for (const conversation of conversations) {
  vectors.push(meanVector(await embedder.embed(conversation.conversation_log.map((m) => m.content)), embedder.dimension));
}
const queries = await embedder.embed(QUERIES);

const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);
// One bit per dimension, set where the component is positive: parley._embedding_signs.
const signs = (v: Float32Array) => Array.from(v, (x) => x > 0);
const hamming = (a: boolean[], b: boolean[]) => a.reduce((n, bit, i) => n + (bit !== b[i] ? 1 : 0), 0);
const stored = vectors.map(signs);
const top = (scored: Array<[number, number]>, n: number, descending: boolean) =>
  scored.sort((x, y) => (descending ? y[0] - x[0] : x[0] - y[0])).slice(0, n).map(([, i]) => i);

for (const pool of [50, 100, 200]) {
  let found = 0;
  for (const query of queries) {
    const exact = top(vectors.map((v, i) => [dot(v, query), i]), K, true);
    const querySigns = signs(query);
    const candidates = top(stored.map((s, i) => [hamming(s, querySigns), i]), pool, false);
    const reranked = top(candidates.map((i) => [dot(vectors[i]!, query), i]), K, true);
    found += reranked.filter((i) => exact.includes(i)).length;
  }
  process.stdout.write(`${embedder.model}: ${pool} candidates of ${vectors.length}, recall@${K} ${(found / (K * queries.length)).toFixed(3)}\n`);
}
await embedder.close();
process.exit(0);
