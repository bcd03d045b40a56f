import { describe, expect, it } from "vitest";
import { CachedEmbedder, type EmbeddingStore } from "../../src/embed/cache.js";
import { type Embedder, contentHash } from "../../src/embed/embedder.js";

/** Records each call; the vector of a text is (its length, the call number, 1). */
class CountingEmbedder implements Embedder {
  readonly model = "fake-3";
  readonly dimension = 3;
  readonly calls: string[][] = [];
  closed = false;
  /** When set, each call waits for this before answering. */
  gate: Promise<void> | undefined;
  failNext: Error | undefined;

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    this.calls.push([...texts]);
    const call = this.calls.length;
    if (this.gate !== undefined) await this.gate;
    if (this.failNext !== undefined) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    return texts.map((text) => Float32Array.from([text.length, call, 1]));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** An EmbeddingStore in a Map, recording its calls. */
class MemoryStore implements EmbeddingStore {
  readonly rows = new Map<string, Float32Array>();
  readonly gets: Array<{ model: string; hashes: string[] }> = [];
  readonly puts: Array<{ model: string; hashes: string[] }> = [];

  async get(model: string, hashes: Buffer[]): Promise<Map<string, Float32Array>> {
    this.gets.push({ model, hashes: hashes.map((h) => h.toString("hex")) });
    const found = new Map<string, Float32Array>();
    for (const hash of hashes) {
      const vector = this.rows.get(`${model}:${hash.toString("hex")}`);
      if (vector !== undefined) found.set(hash.toString("hex"), vector);
    }
    return found;
  }

  async put(model: string, entries: Array<{ hash: Buffer; vector: Float32Array }>): Promise<void> {
    this.puts.push({ model, hashes: entries.map((e) => e.hash.toString("hex")) });
    for (const { hash, vector } of entries) this.rows.set(`${model}:${hash.toString("hex")}`, vector);
  }
}

const hex = (text: string): string => contentHash(text).toString("hex");
const values = (vectors: Float32Array[]): number[][] => vectors.map((v) => Array.from(v));

describe("CachedEmbedder", () => {
  it("takes its model and dimension from the inner embedder", () => {
    const cached = new CachedEmbedder(new CountingEmbedder());
    expect(cached.model).toBe("fake-3");
    expect(cached.dimension).toBe(3);
  });

  it("does not call the inner embedder for texts it has embedded before", async () => {
    const inner = new CountingEmbedder();
    const cached = new CachedEmbedder(inner);

    const first = await cached.embed(["hi", "hello"]);
    const second = await cached.embed(["hello", "hi"]);

    expect(inner.calls).toEqual([["hi", "hello"]]);
    expect(values(first)).toEqual([[2, 1, 1], [5, 1, 1]]);
    expect(values(second)).toEqual([[5, 1, 1], [2, 1, 1]]);
    expect(cached.stats()).toEqual({ hits: 2, misses: 2 });
  });

  it("embeds only the texts it has not seen, in one call", async () => {
    const inner = new CountingEmbedder();
    const cached = new CachedEmbedder(inner);
    await cached.embed(["a"]);

    const vectors = await cached.embed(["bb", "a", "ccc"]);

    expect(inner.calls).toEqual([["a"], ["bb", "ccc"]]);
    expect(values(vectors)).toEqual([[2, 2, 1], [1, 1, 1], [3, 2, 1]]);
    expect(cached.stats()).toEqual({ hits: 1, misses: 3 });
  });

  it("embeds a text repeated inside one batch once, and answers every position", async () => {
    const inner = new CountingEmbedder();
    const cached = new CachedEmbedder(inner);

    const vectors = await cached.embed(["same", "other", "same", "same"]);

    expect(inner.calls).toEqual([["same", "other"]]);
    expect(values(vectors)).toEqual([[4, 1, 1], [5, 1, 1], [4, 1, 1], [4, 1, 1]]);
    expect(cached.stats()).toEqual({ hits: 2, misses: 2 });
  });

  it("answers an empty batch without calling anything", async () => {
    const inner = new CountingEmbedder();
    const store = new MemoryStore();
    const cached = new CachedEmbedder(inner, { store });
    expect(await cached.embed([])).toEqual([]);
    expect(inner.calls).toEqual([]);
    expect(store.gets).toEqual([]);
    expect(cached.stats()).toEqual({ hits: 0, misses: 0 });
  });

  it("uses vectors from the store and embeds only what the store lacks", async () => {
    const inner = new CountingEmbedder();
    const store = new MemoryStore();
    store.rows.set(`fake-3:${hex("stored")}`, Float32Array.from([7, 7, 7]));
    const cached = new CachedEmbedder(inner, { store });

    const vectors = await cached.embed(["stored", "fresh", "stored"]);

    expect(values(vectors)).toEqual([[7, 7, 7], [5, 1, 1], [7, 7, 7]]);
    expect(inner.calls).toEqual([["fresh"]]);
    expect(store.gets).toEqual([{ model: "fake-3", hashes: [hex("stored"), hex("fresh")] }]);
    expect(store.puts).toEqual([{ model: "fake-3", hashes: [hex("fresh")] }]);
    expect(cached.stats()).toEqual({ hits: 2, misses: 1 });
  });

  it("goes to the store only for texts missing from memory", async () => {
    const store = new MemoryStore();
    const cached = new CachedEmbedder(new CountingEmbedder(), { store });
    await cached.embed(["one"]);
    await cached.embed(["one", "two"]);
    expect(store.gets.map((g) => g.hashes)).toEqual([[hex("one")], [hex("two")]]);
  });

  it("shares embeddings through the store between instances (another process)", async () => {
    const store = new MemoryStore();
    const firstInner = new CountingEmbedder();
    await new CachedEmbedder(firstInner, { store }).embed(["persisted", "too"]);

    const secondInner = new CountingEmbedder();
    const second = new CachedEmbedder(secondInner, { store });
    const vectors = await second.embed(["too", "persisted"]);

    expect(secondInner.calls).toEqual([]);
    expect(values(vectors)).toEqual([[3, 1, 1], [9, 1, 1]]);
    expect(second.stats()).toEqual({ hits: 2, misses: 0 });
    // Store hits are kept in memory: no second store lookup.
    await second.embed(["too"]);
    expect(store.gets).toHaveLength(2);
  });

  it("re-embeds a stored vector of the wrong length", async () => {
    const inner = new CountingEmbedder();
    const store = new MemoryStore();
    store.rows.set(`fake-3:${hex("broken")}`, Float32Array.from([1, 2]));
    const cached = new CachedEmbedder(inner, { store });

    const vectors = await cached.embed(["broken"]);

    expect(values(vectors)).toEqual([[6, 1, 1]]);
    expect(inner.calls).toEqual([["broken"]]);
    expect(Array.from(store.rows.get(`fake-3:${hex("broken")}`)!)).toEqual([6, 1, 1]);
  });

  it("forgets the least recently used vectors beyond maxEntries", async () => {
    const inner = new CountingEmbedder();
    const cached = new CachedEmbedder(inner, { maxEntries: 2 });
    await cached.embed(["a"]);
    await cached.embed(["b"]);
    await cached.embed(["a"]); // a is now more recent than b
    await cached.embed(["c"]); // evicts b
    await cached.embed(["a", "b"]);
    expect(inner.calls).toEqual([["a"], ["b"], ["c"], ["b"]]);
  });

  it("embeds a text once when concurrent calls ask for it", async () => {
    const inner = new CountingEmbedder();
    let open!: () => void;
    inner.gate = new Promise((resolve) => (open = resolve));
    const cached = new CachedEmbedder(inner);

    const first = cached.embed(["shared", "mine"]);
    await Promise.resolve();
    const second = cached.embed(["shared", "yours"]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    open();

    expect(values(await first)).toEqual([[6, 1, 1], [4, 1, 1]]);
    expect(values(await second)).toEqual([[6, 1, 1], [5, 2, 1]]);
    expect(inner.calls).toEqual([["shared", "mine"], ["yours"]]);
    expect(cached.stats()).toEqual({ hits: 1, misses: 3 });
  });

  it("caches nothing from a failed inner call, so the next call tries again", async () => {
    const inner = new CountingEmbedder();
    const store = new MemoryStore();
    const cached = new CachedEmbedder(inner, { store });
    inner.failNext = new Error("model crashed");

    await expect(cached.embed(["t"])).rejects.toThrow("model crashed");
    expect(store.puts).toEqual([]);
    expect(cached.stats()).toEqual({ hits: 0, misses: 0 });

    expect(values(await cached.embed(["t"]))).toEqual([[1, 2, 1]]);
    expect(inner.calls).toEqual([["t"], ["t"]]);
    expect(cached.stats()).toEqual({ hits: 0, misses: 1 });
  });

  it("passes a failure on to a concurrent call waiting for the same text", async () => {
    const inner = new CountingEmbedder();
    let open!: () => void;
    inner.gate = new Promise((resolve) => (open = resolve));
    inner.failNext = new Error("model crashed");
    const cached = new CachedEmbedder(inner);

    const first = cached.embed(["t"]);
    const second = cached.embed(["t"]);
    open();

    await expect(first).rejects.toThrow("model crashed");
    await expect(second).rejects.toThrow("model crashed");
    expect(inner.calls).toHaveLength(1);
  });

  it("rejects an inner embedder that returns the wrong number of vectors", async () => {
    const broken: Embedder = { model: "broken-2", dimension: 2, embed: async () => [Float32Array.from([1, 0])] };
    const error = await new CachedEmbedder(broken).embed(["a", "b"]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "embedding_failed", retryable: false });
    expect((error as Error).message).toBe("broken-2: embedder returned 1 vectors for 2 texts");
  });

  it("closes the inner embedder", async () => {
    const inner = new CountingEmbedder();
    await new CachedEmbedder(inner).close();
    expect(inner.closed).toBe(true);
  });
});

describe("CachedEmbedder in front of a cheap embedder", () => {
  it("calls it for every text, repeats included, and keeps nothing: recomputing costs less than looking up", async () => {
    const inner = Object.assign(new CountingEmbedder(), { cheap: true });
    const cached = new CachedEmbedder(inner);
    await cached.embed(["a", "a"]);
    await cached.embed(["a"]);
    expect(inner.calls).toEqual([["a", "a"], ["a"]]);
    expect(cached.stats()).toEqual({ hits: 0, misses: 3 });
  });
});

describe("CachedEmbedder.embedUnstored", () => {
  it("writes nothing itself, and hands back for storing only texts that repeat: seen before, or twice in the call", async () => {
    const inner = new CountingEmbedder();
    const store = new MemoryStore();
    const cached = new CachedEmbedder(inner, { store });
    const hex = (text: string) => contentHash(text).toString("hex");

    const first = await cached.embedUnstored(["hello", "hello", "world"]);
    expect(first.vectors.map((vector) => vector[0])).toEqual([5, 5, 5]);
    expect(store.puts).toEqual([]);
    // "hello" repeats within the call; "world" was seen once.
    expect([...first.unstored.keys()]).toEqual([hex("hello")]);

    // Seen again: "world" is worth storing now, "hello" was handed out already. Neither is embedded again.
    const second = await cached.embedUnstored(["world", "hello"]);
    expect([...second.unstored.keys()]).toEqual([hex("world")]);
    expect(inner.calls).toHaveLength(1);
    expect((await cached.embedUnstored(["world"])).unstored.size).toBe(0);
  });
});
