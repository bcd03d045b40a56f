// Any OpenAI-compatible embeddings endpoint (POST /v1/embeddings): OpenAI itself, Azure-style
// gateways, vLLM, LM Studio, llama.cpp's server, LiteLLM, text-embeddings-inference.

import { ProviderError, RemoteEmbedder, joinUrl, type EmbeddingRequest, type RemoteEmbedderOptions } from "./remote.js";

export interface OpenAIEmbedderOptions extends RemoteEmbedderOptions {
  /** The server, with or without its trailing /v1 (PARLEY_OPENAI_BASE_URL). */
  baseUrl: string;
  /**
   * Sent as `Authorization: Bearer ...` when set (PARLEY_OPENAI_API_KEY). The configuration
   * requires one for api.openai.com at start-up (src/config.ts).
   */
  apiKey?: string | undefined;
}

/**
 * Sends `{model, input: [texts], encoding_format: "float"}` and reads `{data: [{embedding, index}]}`,
 * placing each vector by its `index`. A wrong key is a 401 and fails the event for good with
 * `embedding_auth_failed`; a 429 or 5xx is retried through the event's back-off.
 */
export class OpenAIEmbedder extends RemoteEmbedder {
  private readonly endpoint: string;
  private readonly apiKey: string | undefined;

  constructor(options: OpenAIEmbedderOptions) {
    super("openai", options);
    const base = options.baseUrl;
    if (!URL.canParse(base)) throw new ProviderError("embedding_misconfigured", `openai: PARLEY_OPENAI_BASE_URL is not a URL: ${JSON.stringify(base)}`);
    // Both "https://host" and "https://host/v1" are common in other tools' settings.
    this.endpoint = joinUrl(base.replace(/\/+$/, "").replace(/\/v1$/, ""), "/v1/embeddings");
    this.apiKey = options.apiKey;
  }

  protected request(texts: string[]): EmbeddingRequest {
    return {
      url: this.endpoint,
      headers: this.apiKey === undefined ? {} : { authorization: `Bearer ${this.apiKey}` },
      body: { model: this.providerModel, input: texts, encoding_format: "float" },
    };
  }

  protected vectorsOf(json: unknown, count: number): unknown[] {
    const data = (json as { data?: unknown } | null)?.data;
    if (!Array.isArray(data)) {
      throw new ProviderError("embedding_bad_response", `openai at ${this.endpoint}: the answer has no "data" array`);
    }
    const vectors = new Array<unknown>(data.length);
    data.forEach((item: unknown, position) => {
      const { embedding, index } = (item ?? {}) as { embedding?: unknown; index?: unknown };
      // Servers that leave out `index` answer in input order.
      const at = index === undefined ? position : index;
      if (typeof at !== "number" || !Number.isInteger(at) || at < 0 || at >= count || vectors[at] !== undefined) {
        throw new ProviderError("embedding_bad_response", `openai at ${this.endpoint}: data[${position}].index is ${JSON.stringify(index)}, expected a distinct integer below ${count}`);
      }
      vectors[at] = embedding;
    });
    return vectors;
  }

  protected errorMessageOf(json: unknown): string | undefined {
    const error = (json as { error?: unknown } | null | undefined)?.error;
    if (typeof error === "string") return error;
    const message = (error as { message?: unknown } | undefined)?.message;
    return typeof message === "string" ? message : undefined;
  }

  protected override notFoundHint(): string {
    return ` (is PARLEY_OPENAI_MODEL=${this.providerModel} served there, and does ${this.endpoint} exist?)`;
  }

  protected override authHint(): string {
    return this.apiKey === undefined ? " (PARLEY_OPENAI_API_KEY is not set)" : " (check PARLEY_OPENAI_API_KEY)";
  }
}
