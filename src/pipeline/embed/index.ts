// Text embedders: pick one by name; wrap it in a CachedEmbedder to embed each text once.

import type { Embedder } from "./embedder.js";
import { HashingEmbedder } from "./hashing.js";
import { LocalEmbedder } from "./local.js";

export { type Embedder, EmbeddingError, contentHash, cosineSimilarity, meanVector, normalize } from "./embedder.js";
export { CachedEmbedder, type CachedEmbedderOptions, type EmbeddingStore } from "./cache.js";
export { HashingEmbedder } from "./hashing.js";
export { LocalEmbedder } from "./local.js";

/** The embedders `createEmbedder` knows. To add a provider, add its name here and in `providers`. */
export const EMBEDDER_NAMES = ["local", "hashing"] as const;
export type EmbedderName = (typeof EMBEDDER_NAMES)[number];

const providers: Record<EmbedderName, () => Embedder> = {
  local: () => new LocalEmbedder(),
  hashing: () => new HashingEmbedder(),
};

/** A new embedder of the given kind; throws on a name not in EMBEDDER_NAMES. */
export function createEmbedder(name: EmbedderName): Embedder {
  const create = Object.hasOwn(providers, name) ? providers[name] : undefined;
  if (create === undefined) {
    throw new Error(`unknown embedder ${JSON.stringify(name)}: expected one of ${EMBEDDER_NAMES.join(", ")}`);
  }
  return create();
}
