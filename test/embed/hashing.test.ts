import { describe, expect, it } from "vitest";
import { cosineSimilarity } from "../../src/pipeline/vectors.js";
import { HashingEmbedder, fnv1a32, tokenize } from "../../src/embed/hashing.js";

function norm(vector: Float32Array): number {
  return Math.hypot(...vector);
}

describe("fnv1a32", () => {
  it("matches the published FNV-1a 32-bit test vectors", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
  });

  it("hashes the UTF-8 bytes of non-ASCII text", () => {
    expect(fnv1a32("café")).toBe(0xa82b5049);
  });
});

describe("tokenize", () => {
  it("lowercases and keeps runs of letters and digits", () => {
    expect(tokenize("Hello, World! It's 42°C in Zürich...")).toEqual(["hello", "world", "it", "s", "42", "c", "in", "zürich"]);
  });

  it("gives no tokens for punctuation and whitespace", () => {
    expect(tokenize("  ?! -- ...\n")).toEqual([]);
  });
});

describe("HashingEmbedder", () => {
  it("is named after its dimension, 1024 by default", () => {
    expect(new HashingEmbedder().model).toBe("hashing-1024");
    expect(new HashingEmbedder().dimension).toBe(1024);
    expect(new HashingEmbedder(64).model).toBe("hashing-64");
  });

  it("rejects a dimension that is not a positive integer", () => {
    expect(() => new HashingEmbedder(0)).toThrow(RangeError);
    expect(() => new HashingEmbedder(1.5)).toThrow(RangeError);
  });

  it("puts each word and word pair in its signed bucket, then normalises", async () => {
    // hello -> bucket 171, +1; world -> 147, +1; "hello world" -> 167, -1.
    const [vector] = await new HashingEmbedder(256).embed(["Hello, world!"]);
    const third = 1 / Math.sqrt(3);
    expect(vector!.length).toBe(256);
    expect(vector![171]).toBeCloseTo(third, 6);
    expect(vector![147]).toBeCloseTo(third, 6);
    expect(vector![167]).toBeCloseTo(-third, 6);
    expect(vector!.filter((x) => x !== 0).length).toBe(3);
  });

  it("is deterministic across calls and instances", async () => {
    const text = "The quick brown fox jumps over the lazy dog";
    const [a] = await new HashingEmbedder().embed([text]);
    const [b] = await new HashingEmbedder().embed([text, "something else"]);
    expect(Array.from(a!)).toEqual(Array.from(b!));
  });

  it("returns unit vectors of the right dimension, aligned with the input", async () => {
    const texts = ["one", "two words", "a somewhat longer sentence with several words in it", "one"];
    const vectors = await new HashingEmbedder(128).embed(texts);
    expect(vectors).toHaveLength(4);
    for (const vector of vectors) {
      expect(vector).toBeInstanceOf(Float32Array);
      expect(vector.length).toBe(128);
      expect(norm(vector)).toBeCloseTo(1, 5);
    }
    expect(Array.from(vectors[3]!)).toEqual(Array.from(vectors[0]!));
    expect(Array.from(vectors[1]!)).not.toEqual(Array.from(vectors[0]!));
  });

  it("gives the zero vector for a text without words", async () => {
    const [empty, blank] = await new HashingEmbedder().embed(["", " ... "]);
    expect(norm(empty!)).toBe(0);
    expect(norm(blank!)).toBe(0);
  });

  it("ignores case and punctuation", async () => {
    const [a, b] = await new HashingEmbedder().embed(["I like cats.", "i LIKE cats"]);
    expect(cosineSimilarity(a!, b!)).toBeCloseTo(1, 6);
  });

  it("puts texts that share words closer than texts that share none", async () => {
    const [base, similar, unrelated] = await new HashingEmbedder().embed([
      "I love watching movies at the cinema",
      "watching movies at home is what I love",
      "my car needs new tires before winter",
    ]);
    const near = cosineSimilarity(base!, similar!);
    const far = cosineSimilarity(base!, unrelated!);
    expect(near).toBeGreaterThan(0.4);
    expect(Math.abs(far)).toBeLessThan(0.2);
    expect(near).toBeGreaterThan(far);
  });
});

describe("fnv1a32 continued from a seed", () => {
  it("hashes a + b as a hash of b begun where a's left off, also across astral characters", () => {
    for (const [a, b] of [["hello", " world"], ["", "x"], ["café", " 😀 ok"], ["\u{1F600}", "\uD800 lone"]] as const) {
      expect(fnv1a32(b, fnv1a32(a))).toBe(fnv1a32(a + b));
    }
  });
});

describe("HashingEmbedder buckets", () => {
  it("normalises correctly when features cancel out in a bucket and land there again", async () => {
    // With 2 buckets, collisions are certain: whatever the counts, the result is unit length or zero.
    const embedder = new HashingEmbedder(2);
    for (const text of ["a b c d e f g", "one two one two one", "x", "repeat repeat repeat repeat"]) {
      const [vector] = await embedder.embed([text]);
      const length = Math.hypot(...vector!);
      expect(length === 0 || Math.abs(length - 1) < 1e-6, `${text}: ${length}`).toBe(true);
    }
  });
});
