import { describe, expect, it } from "vitest";
import { cosineSimilarity, meanVector, normalize } from "../../src/pipeline/vectors.js";

const f32 = (...values: number[]): Float32Array => Float32Array.from(values);

describe("meanVector", () => {
  it("is the mean scaled to unit length", () => {
    const mean = meanVector([f32(1, 0, 0), f32(0, 1, 0)]);
    expect(Array.from(mean)).toEqual([Math.fround(Math.SQRT1_2), Math.fround(Math.SQRT1_2), 0]);
  });

  it("weights each vector equally", () => {
    const mean = meanVector([f32(3, 0), f32(0, 1), f32(0, 1)]);
    // sum (3, 2) -> (3, 2) / sqrt(13)
    expect(mean[0]).toBeCloseTo(3 / Math.sqrt(13), 6);
    expect(mean[1]).toBeCloseTo(2 / Math.sqrt(13), 6);
  });

  it("keeps a single unit vector as it is", () => {
    expect(Array.from(meanVector([f32(0.6, 0.8)]))).toEqual([Math.fround(0.6), Math.fround(0.8)]);
  });

  it("gives the zero vector when the vectors cancel out or are all zero", () => {
    expect(Array.from(meanVector([f32(1, -2), f32(-1, 2)]))).toEqual([0, 0]);
    expect(Array.from(meanVector([f32(0, 0, 0)]))).toEqual([0, 0, 0]);
  });

  it("gives the zero vector of the given dimension for no vectors", () => {
    expect(Array.from(meanVector([], 4))).toEqual([0, 0, 0, 0]);
  });

  it("refuses no vectors without a dimension, and vectors of mixed lengths", () => {
    expect(() => meanVector([])).toThrow(/no vectors and no dimension/);
    expect(() => meanVector([f32(1, 0), f32(1, 0, 0)])).toThrow(/expected vectors of length 2, got 3/);
  });
});

describe("cosineSimilarity", () => {
  it("is 1 for the same direction, 0 for orthogonal, -1 for opposite", () => {
    expect(cosineSimilarity(f32(1, 1), f32(2, 2))).toBeCloseTo(1, 6);
    expect(cosineSimilarity(f32(1, 0), f32(0, 3))).toBe(0);
    expect(cosineSimilarity(f32(1, 2), f32(-1, -2))).toBeCloseTo(-1, 6);
  });

  it("is 0 against the zero vector", () => {
    expect(cosineSimilarity(f32(0, 0), f32(1, 0))).toBe(0);
  });
});

describe("normalize", () => {
  it("scales to unit length and leaves zero alone", () => {
    expect(Array.from(normalize([3, 4]))).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    expect(Array.from(normalize([0, 0]))).toEqual([0, 0]);
  });
});
