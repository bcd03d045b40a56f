// What the HTTP embedding providers (ollama, openai) share: batching, the time limit, and the
// mapping of each failure to "try again later" or "fix the configuration".

import { normalize } from "../pipeline/vectors.js";
import { type Embedder, EmbeddingError } from "./embedder.js";

/**
 * Why a provider failed, first word of the error's message (the event's `error_details`), so
 * that operators can group failures. The event's `error_code` stays `embedding_failed`.
 *
 * Retryable (the event backs off and tries again): `embedding_timeout`, `embedding_unreachable`,
 * `embedding_rate_limited`, `embedding_server_error`.
 * Not retryable (fix the configuration, then `parley.retry_event`): `embedding_auth_failed`,
 * `embedding_model_not_found`, `embedding_rejected`, `embedding_bad_response`,
 * `embedding_dimension_mismatch`, `embedding_misconfigured`.
 */
export type ProviderFailure =
  | "embedding_timeout"
  | "embedding_unreachable"
  | "embedding_rate_limited"
  | "embedding_server_error"
  | "embedding_auth_failed"
  | "embedding_model_not_found"
  | "embedding_rejected"
  | "embedding_bad_response"
  | "embedding_dimension_mismatch"
  | "embedding_misconfigured";

const RETRYABLE: ReadonlySet<ProviderFailure> = new Set([
  "embedding_timeout",
  "embedding_unreachable",
  "embedding_rate_limited",
  "embedding_server_error",
]);

export class ProviderError extends EmbeddingError {
  constructor(readonly reason: ProviderFailure, message: string, cause?: unknown) {
    super(`${reason}: ${message}`, { retryable: RETRYABLE.has(reason), cause });
    this.name = "ProviderError";
  }
}

/**
 * Output sizes of well-known models, so that the dimension is known before the first call.
 * Any other model's dimension is configured (PARLEY_EMBED_DIMENSION) or learned.
 */
export const KNOWN_DIMENSIONS: Readonly<Record<string, number>> = {
  "nomic-embed-text": 768,
  "mxbai-embed-large": 1024,
  "all-minilm": 384,
  "snowflake-arctic-embed": 1024,
  "bge-m3": 1024,
  "text-embedding-3-small": 1536,
  "text-embedding-3-large": 3072,
  "text-embedding-ada-002": 1536,
};

export interface RemoteEmbedderOptions {
  /** The provider's model name, e.g. "nomic-embed-text". */
  model: string;
  /** Per HTTP request, connection to last byte (PARLEY_EMBED_TIMEOUT_MS). */
  timeoutMs: number;
  /** Expected output size; default: known for the model, else learned from the first answer. */
  dimension?: number | undefined;
  /** Texts per request (PARLEY_EMBED_BATCH_SIZE). */
  batchSize: number;
}

export interface EmbeddingRequest {
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * An Embedder behind an HTTP API. Subclasses say how to ask (`request`) and how to read the
 * answer (`vectorsOf`); this class sends the non-empty texts in batches, one request at a time,
 * checks every vector's length, and returns unit vectors (empty texts give the zero vector
 * without a request, as the Embedder contract says).
 */
export abstract class RemoteEmbedder implements Embedder {
  /** "<provider>:<model>": the cache key prefix; vectors of different providers never mix. */
  readonly model: string;
  protected readonly providerModel: string;
  protected readonly timeoutMs: number;
  private readonly batchSize: number;
  private readonly configuredDimension: number | undefined;
  private learnedDimension: number | undefined;

  constructor(
    protected readonly provider: string,
    options: RemoteEmbedderOptions,
  ) {
    if (options.model.trim() === "") throw new ProviderError("embedding_misconfigured", `${provider}: the model name is empty`);
    this.providerModel = options.model;
    this.model = `${provider}:${options.model}`;
    this.timeoutMs = options.timeoutMs;
    this.batchSize = options.batchSize;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new RangeError(`${provider}: batchSize must be a positive integer, got ${this.batchSize}`);
    }
    this.configuredDimension = options.dimension ?? KNOWN_DIMENSIONS[options.model.replace(/:latest$/, "")];
  }

  /** The output size; 0 while it is still unknown (no configured value and no answer yet). */
  get dimension(): number {
    return this.configuredDimension ?? this.learnedDimension ?? 0;
  }

  /** Learns the dimension with one small request when it is not known yet. */
  async resolveDimension(): Promise<number> {
    if (this.dimension === 0) await this.embed(["dimension probe"]);
    return this.dimension;
  }

  protected abstract request(texts: string[]): EmbeddingRequest;
  /** The vectors in a 2xx answer's JSON, in input order; throws ProviderError("embedding_bad_response") on any other shape. */
  protected abstract vectorsOf(json: unknown, count: number): unknown[];
  /** The server's own explanation in an error body, if any. */
  protected abstract errorMessageOf(json: unknown): string | undefined;
  /** Extra words for a 404 (how to get the model). */
  protected notFoundHint(): string {
    return "";
  }
  /** Extra words for a 401 or 403 (which setting holds the key). */
  protected authHint(): string {
    return "";
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    const out = new Array<Float32Array>(texts.length);
    const todo: number[] = [];
    texts.forEach((text, i) => (text.trim() === "" ? undefined : todo.push(i)));
    for (let start = 0; start < todo.length; start += this.batchSize) {
      const indices = todo.slice(start, start + this.batchSize);
      const vectors = await this.post(indices.map((i) => texts[i]!));
      indices.forEach((textIndex, j) => (out[textIndex] = this.check(vectors[j], j)));
    }
    // Only now is the dimension sure to be known (or there was nothing to send).
    for (let i = 0; i < out.length; i++) out[i] ??= new Float32Array(this.dimension);
    return out;
  }

  private check(vector: unknown, position: number): Float32Array {
    if (!Array.isArray(vector) || vector.length === 0 || !vector.every((x) => typeof x === "number" && Number.isFinite(x))) {
      throw new ProviderError("embedding_bad_response", `${this.model}: item ${position} of the answer is not a non-empty array of numbers`);
    }
    const expected = this.dimension;
    if (expected === 0) {
      this.learnedDimension = vector.length;
    } else if (vector.length !== expected) {
      throw new ProviderError(
        "embedding_dimension_mismatch",
        `${this.model}: returned a ${vector.length}-dimensional vector, expected ${expected}` +
          (this.configuredDimension === undefined
            ? " (learned from an earlier answer): did the model change?"
            : " (PARLEY_EMBED_DIMENSION, or the model's known size): set PARLEY_EMBED_DIMENSION to the model's size"),
      );
    }
    return normalize(vector as number[]);
  }

  private async post(texts: string[]): Promise<unknown[]> {
    const { url, headers, body } = this.request(texts);
    const where = `${this.provider} at ${redact(url)}`;
    let status: number;
    let text: string;
    try {
      // The signal bounds the whole exchange, reading the body included.
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", ...headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = response.status;
      text = await response.text();
    } catch (cause) {
      const name = (cause as Error | undefined)?.name;
      if (name === "TimeoutError" || name === "AbortError") {
        throw new ProviderError("embedding_timeout", `${where} did not answer within ${this.timeoutMs} ms (PARLEY_EMBED_TIMEOUT_MS)`, cause);
      }
      throw new ProviderError("embedding_unreachable", `cannot reach ${where}: ${networkReason(cause)}`, cause);
    }

    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (status >= 200 && status < 300) {
      if (json === undefined) throw new ProviderError("embedding_bad_response", `${where} answered ${status} with a body that is not JSON: ${snippet(text)}`);
      const vectors = this.vectorsOf(json, texts.length);
      if (vectors.length !== texts.length) {
        throw new ProviderError("embedding_bad_response", `${where} returned ${vectors.length} vectors for ${texts.length} texts`);
      }
      return vectors;
    }

    const said = this.errorMessageOf(json) ?? snippet(text);
    const detail = `${where} answered ${status}${said ? `: ${said}` : ""}`;
    if (status === 401 || status === 403) throw new ProviderError("embedding_auth_failed", `${detail}${this.authHint()}`);
    if (status === 404) throw new ProviderError("embedding_model_not_found", `${detail}${this.notFoundHint()}`);
    if (status === 408) throw new ProviderError("embedding_timeout", detail);
    if (status === 429) throw new ProviderError("embedding_rate_limited", detail);
    if (status >= 500) throw new ProviderError("embedding_server_error", detail);
    throw new ProviderError("embedding_rejected", detail);
  }
}

/** The URL without credentials or query (neither belongs in logs or error_details). */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "<invalid url>";
  }
}

function networkReason(cause: unknown): string {
  // undici puts the system error (ECONNREFUSED, ENOTFOUND, ...) on `cause`.
  const inner = (cause as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  return inner?.code ?? inner?.message ?? (cause instanceof Error ? cause.message : String(cause));
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}...` : flat;
}

/** `base` without trailing slashes, with `path` appended. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}${path}`;
}
