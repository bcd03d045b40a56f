// Text embedders: pick one by name; wrap it in a CachedEmbedder to embed each text once.

import type { Embedder } from "./embedder.js";
import { HashingEmbedder } from "./hashing.js";
import { LocalEmbedder } from "./local.js";
import { OllamaEmbedder } from "./ollama.js";
import { OpenAIEmbedder } from "./openai.js";

export { type Embedder, EmbeddingError, contentHash } from "./embedder.js";
export { CachedEmbedder, type CachedEmbedderOptions, type EmbeddingStore } from "./cache.js";
export { HashingEmbedder } from "./hashing.js";
export { LocalEmbedder } from "./local.js";
export { OllamaEmbedder } from "./ollama.js";
export { OpenAIEmbedder } from "./openai.js";
export { ProviderError, RemoteEmbedder, type ProviderFailure } from "./remote.js";

/**
 * The embedders `createEmbedder` knows (PARLEY_EMBEDDER's values). To add a provider, add its
 * name here and in `providers`.
 */
export const EMBEDDER_NAMES = ["local", "hashing", "ollama", "openai"] as const;
export type EmbedderName = (typeof EMBEDDER_NAMES)[number];

/** Settings of the remote providers, with their defaults filled in: config.embedding (src/config.ts). */
export interface EmbedderSettings {
  ollama: { url: string; model: string };
  openai: { baseUrl: string; apiKey?: string | undefined; model: string };
  timeoutMs: number;
  dimension?: number | undefined;
  /** Texts per request to a remote provider. */
  batchSize: number;
}

const providers: Record<EmbedderName, (settings: EmbedderSettings) => Embedder> = {
  local: () => new LocalEmbedder(),
  hashing: () => new HashingEmbedder(),
  ollama: ({ ollama, timeoutMs, dimension, batchSize }) => new OllamaEmbedder({ ...ollama, timeoutMs, dimension, batchSize }),
  openai: ({ openai, timeoutMs, dimension, batchSize }) => new OpenAIEmbedder({ ...openai, timeoutMs, dimension, batchSize }),
};

/** A new embedder of the given kind; throws on a name not in EMBEDDER_NAMES. */
export function createEmbedder(name: EmbedderName, settings: EmbedderSettings): Embedder {
  const create = Object.hasOwn(providers, name) ? providers[name] : undefined;
  if (create === undefined) {
    throw new Error(`unknown embedder ${JSON.stringify(name)}: expected one of ${EMBEDDER_NAMES.join(", ")}`);
  }
  return create(settings);
}
