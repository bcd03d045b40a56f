// Ollama's embedding endpoint (POST /api/embed, batched input), e.g. nomic-embed-text on a
// local or remote Ollama server.

import { ProviderError, RemoteEmbedder, joinUrl, type EmbeddingRequest, type RemoteEmbedderOptions } from "./remote.js";

export interface OllamaEmbedderOptions extends RemoteEmbedderOptions {
  /** The server, e.g. http://127.0.0.1:11434 (PARLEY_OLLAMA_URL). */
  url: string;
}

/**
 * Sends `{model, input: [texts]}` to `{url}/api/embed` and reads `{embeddings: number[][]}`.
 * The model must be pulled on the server first (`ollama pull nomic-embed-text`); a missing
 * model is a 404 and fails the event for good with `embedding_model_not_found`.
 */
export class OllamaEmbedder extends RemoteEmbedder {
  private readonly endpoint: string;

  constructor(options: OllamaEmbedderOptions) {
    super("ollama", options);
    const url = options.url;
    if (!URL.canParse(url)) throw new ProviderError("embedding_misconfigured", `ollama: PARLEY_OLLAMA_URL is not a URL: ${JSON.stringify(url)}`);
    this.endpoint = joinUrl(url, "/api/embed");
  }

  protected request(texts: string[]): EmbeddingRequest {
    return { url: this.endpoint, headers: {}, body: { model: this.providerModel, input: texts } };
  }

  protected vectorsOf(json: unknown): unknown[] {
    const embeddings = (json as { embeddings?: unknown } | null)?.embeddings;
    if (!Array.isArray(embeddings)) {
      throw new ProviderError("embedding_bad_response", `ollama at ${this.endpoint}: the answer has no "embeddings" array (is this an Ollama server, version 0.3.4 or later?)`);
    }
    return embeddings;
  }

  protected errorMessageOf(json: unknown): string | undefined {
    const error = (json as { error?: unknown } | null | undefined)?.error;
    return typeof error === "string" ? error : undefined;
  }

  protected override notFoundHint(): string {
    return ` (pull the model with \`ollama pull ${this.providerModel}\`, or set PARLEY_OLLAMA_MODEL)`;
  }
}
