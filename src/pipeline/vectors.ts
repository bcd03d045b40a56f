// Vector arithmetic on embeddings: pure functions, shared by the stages and the embedders.

/**
 * The L2-normalised mean of `vectors`: one vector for a whole conversation from
 * the vectors of its messages. If the mean is the zero vector (no vectors, or only
 * zero vectors) the result is the zero vector. With no vectors at all the length
 * cannot be inferred, so `dimension` must be given.
 */
export function meanVector(vectors: readonly Float32Array[], dimension?: number): Float32Array {
  const length = dimension ?? vectors[0]?.length;
  if (length === undefined) {
    throw new RangeError("meanVector: no vectors and no dimension given");
  }
  const sum = new Float64Array(length);
  for (const vector of vectors) {
    if (vector.length !== length) {
      throw new RangeError(`meanVector: expected vectors of length ${length}, got ${vector.length}`);
    }
    for (let i = 0; i < length; i++) sum[i]! += vector[i]!;
  }
  // Normalising the sum gives the same direction as normalising the mean.
  return normalize(sum);
}

/** Cosine similarity of two vectors of the same length; 0 if either is the zero vector. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new RangeError(`cosineSimilarity: lengths differ (${a.length} and ${b.length})`);
  }
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    normA += x * x;
    normB += y * y;
  }
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB);
}

/** A unit-length Float32Array in the direction of `values`; the zero vector stays zero. */
export function normalize(values: ArrayLike<number>): Float32Array {
  let squares = 0;
  for (let i = 0; i < values.length; i++) squares += values[i]! * values[i]!;
  const out = new Float32Array(values.length);
  if (squares === 0) return out;
  const scale = 1 / Math.sqrt(squares);
  for (let i = 0; i < values.length; i++) out[i] = values[i]! * scale;
  return out;
}
