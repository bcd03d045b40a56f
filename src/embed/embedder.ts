// What every text embedder promises, its error, and the key its vectors are cached under.

import { createHash } from "node:crypto";
import type { EventErrorCode } from "../domain.js";

/**
 * Turns texts into fixed-length vectors.
 *
 * - `embed` returns one vector per input text, in the same order, each of length
 *   `dimension`. Vectors are unit length, except that an empty (or whitespace-only)
 *   text gives the zero vector.
 * - The returned arrays may be shared with a cache: treat them as read-only.
 * - `model` names the model and its dimension (e.g. "use-lite-512"); vectors from
 *   different models are never comparable, so it is part of every cache key.
 */
export interface Embedder {
  readonly model: string;
  readonly dimension: number;
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  /**
   * True when computing a vector costs less than fetching it from
   * parley.embedding_cache (the hashing embedder): the worker then caches it
   * in memory only.
   */
  readonly cheap?: boolean;
  close?(): Promise<void>;
}

/**
 * An embedder could not produce vectors. `retryable` says whether trying the same
 * input again later may succeed (a remote service timing out) or not (a model
 * that cannot be loaded, an output of the wrong shape).
 */
export class EmbeddingError extends Error {
  readonly code: EventErrorCode = "embedding_failed";
  readonly retryable: boolean;

  constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "EmbeddingError";
    this.retryable = options.retryable;
  }
}

/** sha256 of the UTF-8 text: the key under which its embedding is cached. */
export function contentHash(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
