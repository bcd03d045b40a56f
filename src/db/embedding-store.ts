// The persistent level of the embedding cache: parley.embedding_cache, keyed
// by model and content hash, so a text is embedded once across processes.
import type { EmbeddingStore } from "../embed/cache.js";
import type { Db } from "./pool.js";

export function postgresEmbeddingStore(db: Db): EmbeddingStore {
  return {
    async get(model, hashes) {
      const found = new Map<string, Float32Array>();
      if (hashes.length === 0) return found;
      const rows = await db
        .selectFrom("parley.embedding_cache")
        .select(["content_hash", "embedding"])
        .where("model", "=", model)
        .where("content_hash", "in", hashes)
        .execute();
      for (const row of rows) found.set(row.content_hash.toString("hex"), Float32Array.from(row.embedding));
      return found;
    },
    async put(model, entries) {
      if (entries.length === 0) return;
      await db
        .insertInto("parley.embedding_cache")
        .values(entries.map(({ hash, vector }) => ({ model, content_hash: hash, embedding: Array.from(vector) })))
        .onConflict((conflict) => conflict.doNothing())
        .execute();
    },
  };
}
