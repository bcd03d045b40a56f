import { describe, expect, it } from "vitest";
import { cosineSimilarity } from "../../src/pipeline/vectors.js";
import { LocalEmbedder, shareLoad } from "../../src/embed/local.js";

describe("shareLoad", () => {
  it("loads once for concurrent and later callers", async () => {
    let loads = 0;
    const get = shareLoad(async () => ++loads);
    expect(await Promise.all([get(), get()])).toEqual([1, 1]);
    expect(await get()).toBe(1);
    expect(loads).toBe(1);
  });

  it("forgets a failed load so the next call tries again", async () => {
    let loads = 0;
    const get = shareLoad(async () => {
      loads += 1;
      if (loads === 1) throw new Error("disk on fire");
      return "model";
    });
    const [a, b] = await Promise.allSettled([get(), get()]);
    expect(a).toMatchObject({ status: "rejected", reason: { message: "disk on fire" } });
    expect(b).toMatchObject({ status: "rejected", reason: { message: "disk on fire" } });
    expect(await get()).toBe("model");
    expect(loads).toBe(2);
  });
});

describe("LocalEmbedder", () => {
  it("gives empty and blank texts the zero vector", async () => {
    const vectors = await new LocalEmbedder().embed(["", "   "]);
    expect(vectors.map((v) => v.length)).toEqual([512, 512]);
    expect(vectors.every((v) => v.every((x) => x === 0))).toBe(true);
  });

  it("rejects a batch size that is not a positive integer", () => {
    expect(() => new LocalEmbedder({ batchSize: 0 })).toThrow(RangeError);
  });

  it("embeds sentences with the Universal Sentence Encoder so that related ones are closer", async () => {
    const embedder = new LocalEmbedder({ batchSize: 2 });
    expect(embedder.model).toBe("use-lite-512");
    expect(embedder.dimension).toBe(512);

    const texts = ["I love watching movies", "films and cinema are great", "", "my car needs new tires"];
    const [movies, films, empty, car] = await embedder.embed(texts);

    for (const vector of [movies!, films!, car!]) {
      expect(vector).toBeInstanceOf(Float32Array);
      expect(vector.length).toBe(512);
      expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    }
    expect(empty!.every((x) => x === 0)).toBe(true);
    const related = cosineSimilarity(movies!, films!);
    const unrelated = cosineSimilarity(movies!, car!);
    // Measured: 0.68 and 0.27.
    expect(related).toBeGreaterThan(0.5);
    expect(unrelated).toBeLessThan(0.4);
    expect(related - unrelated).toBeGreaterThan(0.2);

    // Deterministic, and the batch a text lands in does not change its vector.
    const [again] = await new LocalEmbedder().embed(["I love watching movies"]);
    expect(cosineSimilarity(again!, movies!)).toBeCloseTo(1, 5);
  });
});
