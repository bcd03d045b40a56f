// Memory and persistent caching in front of any Embedder, keyed by model and content hash.

import { LRUCache } from "lru-cache";
import { type Embedder, EmbeddingError, contentHash } from "./embedder.js";

/** Where embeddings outlive the process (the PostgreSQL table in production). */
export interface EmbeddingStore {
  /** The stored vectors among `hashes`, keyed by hash in lowercase hex; absent ones are left out. */
  get(model: string, hashes: Buffer[]): Promise<Map<string, Float32Array>>;
  /** Stores the vectors; storing a hash that is already there must not fail. */
  put(model: string, entries: Array<{ hash: Buffer; vector: Float32Array }>): Promise<void>;
}

export interface CachedEmbedderOptions {
  /** Most vectors kept in memory; least recently used go first. Default 10 000. */
  maxEntries?: number;
  store?: EmbeddingStore;
}

/** A vector to write to the store, with the text it is of; `embedUnstored` keys them by content hash (hex). */
export interface UnstoredVector {
  text: string;
  vector: Float32Array;
}

interface Pending {
  hash: Buffer;
  /** `hash` in lowercase hex: the store's and `unstored`'s key. */
  hex: string;
  text: string;
  /** Positions in the input that hold this text. */
  indices: number[];
}

/**
 * An Embedder that embeds each distinct text at most once per process (and, with a
 * store, at most once ever per model). An inner embedder that says it is `cheap` is called
 * for every text instead: computing its vector costs less than looking it up.
 *
 * For one `embed(texts)` call: identical texts are grouped; each group is looked up
 * in memory, then texts already being embedded by a concurrent call are awaited,
 * then the rest are looked up in the store with one `get`; what is still missing
 * goes to the inner embedder in one call, then to the store with one `put`, then to
 * memory.
 *
 * Counters: `misses` counts texts sent to the inner embedder; `hits` counts every
 * other text asked for (found in memory or the store, being embedded by a concurrent
 * call, or a repeat inside the same call). So hits + misses = texts asked for.
 * Only calls that succeed are counted.
 *
 * Errors from the store or the inner embedder reach the caller unchanged, and
 * nothing from a failed call is cached. Vectors of the wrong length from the store
 * are ignored and embedded again.
 */
export class CachedEmbedder implements Embedder {
  readonly model: string;
  readonly dimension: number;
  private readonly inner: Embedder;
  /** `stored`: the vector is in the store too (or was handed out to be written there). */
  private readonly memory: LRUCache<string, { vector: Float32Array; stored: boolean }>;
  private readonly store: EmbeddingStore | undefined;
  /** Texts being looked up or embedded right now, by memory key. */
  private readonly inFlight = new Map<string, Promise<Float32Array>>();
  private hits = 0;
  private misses = 0;

  constructor(inner: Embedder, options: CachedEmbedderOptions = {}) {
    this.inner = inner;
    this.model = inner.model;
    this.dimension = inner.dimension;
    this.memory = new LRUCache({ max: options.maxEntries ?? 10_000 });
    this.store = options.store;
  }

  stats(): { hits: number; misses: number } {
    return { hits: this.hits, misses: this.misses };
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    return (await this.run(texts, true)).vectors;
  }

  /**
   * Like `embed`, but nothing is written to the store here. A text is worth storing once it
   * repeats: what comes back in `unstored` are the vectors of texts seen before in this
   * process (or twice in this call) and not stored yet, for the caller to write in its own
   * transaction (the worker writes them with the results of the conversations they came from,
   * and only if those still exist). A text seen once stays in memory only, so one-off
   * messages do not fill the table, while repeated ones (an agent's lines) are embedded once
   * by the whole fleet.
   */
  async embedUnstored(texts: readonly string[]): Promise<{ vectors: Float32Array[]; unstored: Map<string, UnstoredVector> }> {
    return this.run(texts, false);
  }

  private async run(texts: readonly string[], persist: boolean): Promise<{ vectors: Float32Array[]; unstored: Map<string, UnstoredVector> }> {
    if (this.inner.cheap) {
      // Computing the vector costs less than hashing the text to look it up.
      const vectors = await this.inner.embed(texts);
      this.misses += texts.length;
      return { vectors, unstored: new Map() };
    }
    const unstored = new Map<string, UnstoredVector>();
    const out = new Array<Float32Array>(texts.length);
    const groups = new Map<string, Pending>();
    texts.forEach((text, i) => {
      const hash = contentHash(text);
      const hex = hash.toString("hex");
      const key = `${this.model}:${hex}`;
      const group = groups.get(key);
      if (group === undefined) groups.set(key, { hash, hex, text, indices: [i] });
      else group.indices.push(i);
    });

    const waits: Array<Promise<void>> = [];
    const missing = new Map<string, Pending>();
    for (const [key, group] of groups) {
      const cached = this.memory.get(key);
      const pending = this.inFlight.get(key);
      if (cached !== undefined) {
        for (const i of group.indices) out[i] = cached.vector;
        if (!persist && !cached.stored) {
          cached.stored = true;
          unstored.set(group.hex, { text: group.text, vector: cached.vector });
        }
      } else if (pending !== undefined) {
        const wait = pending.then((vector) => group.indices.forEach((i) => (out[i] = vector)));
        // If our own embedding fails first we never await this one: its failure
        // must not become an unhandled rejection (that ends a Node process).
        wait.catch(() => {});
        waits.push(wait);
      } else {
        missing.set(key, group);
      }
    }

    let embedded = 0;
    if (missing.size > 0) {
      const work = this.fetch(missing, persist);
      for (const key of missing.keys()) {
        const vector = work.then(({ vectors }) => vectors.get(key)!);
        // Concurrent callers may await this; if none does, a failure must not
        // become an unhandled rejection (our own caller gets it through `work`).
        vector.catch(() => {});
        this.inFlight.set(key, vector);
      }
      try {
        const { vectors, count, fresh } = await work;
        embedded = count;
        for (const [key, group] of missing) {
          const vector = vectors.get(key)!;
          for (const i of group.indices) out[i] = vector;
          // New here and repeated within this call: store it now.
          if (group.indices.length > 1 && fresh.has(group.hex)) {
            unstored.set(group.hex, { text: group.text, vector });
            this.memory.get(key)!.stored = true;
          }
        }
      } finally {
        for (const key of missing.keys()) this.inFlight.delete(key);
      }
    }

    await Promise.all(waits);
    this.hits += texts.length - embedded;
    return { vectors: out, unstored: this.store === undefined ? new Map() : unstored };
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  /**
   * Finds or makes the vectors of `groups`, fills the store and memory, and says how
   * many texts went to the inner embedder.
   */
  private async fetch(
    groups: Map<string, Pending>,
    persist: boolean,
  ): Promise<{ vectors: Map<string, Float32Array>; count: number; fresh: Map<string, Float32Array> }> {
    const found = new Map<string, Float32Array>();
    const fresh = new Map<string, Float32Array>();
    let toEmbed = [...groups];

    if (this.store !== undefined) {
      const stored = await this.store.get(
        this.model,
        toEmbed.map(([, group]) => group.hash),
      );
      toEmbed = toEmbed.filter(([key, group]) => {
        const vector = stored.get(group.hex);
        if (vector === undefined || vector.length !== this.dimension) return true;
        found.set(key, vector);
        this.memory.set(key, { vector, stored: true });
        return false;
      });
    }

    if (toEmbed.length > 0) {
      const vectors = await this.inner.embed(toEmbed.map(([, group]) => group.text));
      if (vectors.length !== toEmbed.length) {
        throw new EmbeddingError(`${this.model}: embedder returned ${vectors.length} vectors for ${toEmbed.length} texts`, {
          retryable: false,
        });
      }
      this.misses += toEmbed.length;

      const entries = toEmbed.map(([, group], j) => ({ hash: group.hash, vector: vectors[j]! }));
      if (this.store !== undefined && persist) await this.store.put(this.model, entries);
      else toEmbed.forEach(([, group], j) => fresh.set(group.hex, entries[j]!.vector));
      toEmbed.forEach(([key], j) => {
        found.set(key, entries[j]!.vector);
        this.memory.set(key, { vector: entries[j]!.vector, stored: persist });
      });
    }
    return { vectors: found, count: toEmbed.length, fresh };
  }
}
