import { afterEach, describe, expect, it } from "vitest";
import { OpenAIEmbedder } from "../../src/embed/openai.js";
import { ProviderError } from "../../src/embed/remote.js";
import { rejected, unusedPort } from "../support/fixtures.js";
import { fakeServer, json, OPENAI_DEFAULTS, vectorFor, type Handler } from "./fake-server.js";

let server: Awaited<ReturnType<typeof fakeServer>> | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const KEY = "sk-test-123";

/** Speaks OpenAI's /v1/embeddings, answering `data` in reverse order to prove `index` is honoured. */
function openai(dimension = 3): Handler {
  return (request, response) => {
    if (request.path !== "/v1/embeddings") return json(response, 404, { error: { message: "Invalid URL (POST " + request.path + ")" } });
    if (request.headers.authorization !== `Bearer ${KEY}`) {
      return json(response, 401, { error: { message: "Incorrect API key provided: sk-wr***ng.", type: "invalid_request_error", code: "invalid_api_key" } });
    }
    if (request.body.model !== "text-embedding-3-small" && request.body.model !== "tiny") {
      return json(response, 404, { error: { message: `The model \`${request.body.model}\` does not exist`, code: "model_not_found" } });
    }
    const data = request.body.input.map((text: string, index: number) => ({ object: "embedding", index, embedding: vectorFor(text, dimension) }));
    json(response, 200, { object: "list", model: request.body.model, data: data.reverse(), usage: { prompt_tokens: 1, total_tokens: 1 } });
  };
}

const failure = (promise: Promise<unknown>) => rejected(promise, ProviderError);

describe("OpenAIEmbedder", () => {
  it("posts {model, input} with the bearer key to /v1/embeddings and places vectors by index", async () => {
    server = await fakeServer(openai());
    const embedder = new OpenAIEmbedder({ ...OPENAI_DEFAULTS, baseUrl: server.url, apiKey: KEY, model: "tiny" });
    const vectors = await embedder.embed(["a", "bbb"]);
    expect(server.requests[0]).toMatchObject({
      method: "POST", path: "/v1/embeddings", body: { model: "tiny", input: ["a", "bbb"], encoding_format: "float" },
    });
    expect(vectors[0]![0]).toBeCloseTo(1 / Math.hypot(1, 1), 6);
    expect(vectors[1]![0]).toBeCloseTo(3 / Math.hypot(3, 1), 6);
    expect(embedder.model).toBe("openai:tiny");
    expect(embedder.dimension).toBe(3);
  });

  it("accepts a base URL with or without /v1", async () => {
    server = await fakeServer(openai());
    await new OpenAIEmbedder({ ...OPENAI_DEFAULTS, baseUrl: `${server.url}/v1/`, apiKey: KEY, model: "tiny" }).embed(["x"]);
    await new OpenAIEmbedder({ ...OPENAI_DEFAULTS, baseUrl: server.url, apiKey: KEY, model: "tiny" }).embed(["x"]);
    expect(server.requests.map((r) => r.path)).toEqual(["/v1/embeddings", "/v1/embeddings"]);
  });

  it("batches texts and skips empty ones", async () => {
    server = await fakeServer(openai());
    const vectors = await new OpenAIEmbedder({ ...OPENAI_DEFAULTS, baseUrl: server.url, apiKey: KEY, model: "tiny", batchSize: 2 }).embed(["a", "", "b", "c"]);
    expect(server.requests.map((r) => r.body.input)).toEqual([["a", "b"], ["c"]]);
    expect(Array.from(vectors[1]!)).toEqual([0, 0, 0]);
  });

  it("sends no Authorization header when no key is set (local OpenAI-compatible servers)", async () => {
    server = await fakeServer((request, response) =>
      json(response, 200, { data: request.body.input.map((text: string) => ({ embedding: vectorFor(text, 2) })) }));
    const vectors = await new OpenAIEmbedder({ ...OPENAI_DEFAULTS, baseUrl: server.url, model: "tiny" }).embed(["x", "yy"]);
    expect(server.requests[0]!.headers.authorization).toBeUndefined();
    // Without `index`, the answer's order is the input's.
    expect(vectors[1]![0]).toBeCloseTo(2 / Math.hypot(2, 1), 6);
  });

  it("a wrong key is a 401: fails for good, names the setting, never echoes the key", async () => {
    server = await fakeServer(openai());
    const error = await failure(new OpenAIEmbedder({ ...OPENAI_DEFAULTS, baseUrl: server.url, apiKey: "sk-wrong", model: "tiny" }).embed(["x"]));
    expect(error).toMatchObject({ reason: "embedding_auth_failed", retryable: false });
    expect(error.message).toContain("answered 401: Incorrect API key provided");
    expect(error.message).toContain("check PARLEY_OPENAI_API_KEY");
    expect(error.message).not.toContain("sk-wrong");
    const missing = await failure(new OpenAIEmbedder({ ...OPENAI_DEFAULTS, baseUrl: server.url, model: "tiny" }).embed(["x"]));
    expect(missing.message).toContain("PARLEY_OPENAI_API_KEY is not set");
  });

  it.each<[string, number, string, string]>([
    ["a 403 fails for good", 403, "country not supported", "embedding_auth_failed"],
    ["a 400 (input the server refuses) fails for good", 400, "maximum context length is 8192 tokens", "embedding_rejected"],
  ])("%s", async (_name, status, message, reason) => {
    server = await fakeServer((_, response) => json(response, status, { error: { message } }));
    const error = await failure(new OpenAIEmbedder({ ...OPENAI_DEFAULTS, baseUrl: server.url, apiKey: KEY }).embed(["x"]));
    expect(error).toMatchObject({ reason, retryable: false });
  });

  it("an unknown model is a 404 that fails for good and names the model setting", async () => {
    server = await fakeServer(openai());
    const error = await failure(new OpenAIEmbedder({ ...OPENAI_DEFAULTS, baseUrl: server.url, apiKey: KEY, model: "text-embedding-9" }).embed(["x"]));
    expect(error).toMatchObject({ reason: "embedding_model_not_found", retryable: false });
    expect(error.message).toContain("The model `text-embedding-9` does not exist");
    expect(error.message).toContain("PARLEY_OPENAI_MODEL=text-embedding-9");
  });

  it("429 and 5xx are transient", async () => {
    let status = 429;
    server = await fakeServer((_, response) => json(response, status, { error: { message: "slow down" } }));
    const embedder = new OpenAIEmbedder({ ...OPENAI_DEFAULTS, baseUrl: server.url, apiKey: KEY });
    expect(await failure(embedder.embed(["x"]))).toMatchObject({ reason: "embedding_rate_limited", retryable: true });
    status = 500;
    expect(await failure(embedder.embed(["x"]))).toMatchObject({ reason: "embedding_server_error", retryable: true });
    status = 502;
    expect(await failure(embedder.embed(["x"]))).toMatchObject({ reason: "embedding_server_error", retryable: true });
  });

  it("times out, retryably", async () => {
    server = await fakeServer(() => {});
    const error = await failure(new OpenAIEmbedder({ ...OPENAI_DEFAULTS, baseUrl: server.url, apiKey: KEY, timeoutMs: 100 }).embed(["x"]));
    expect(error).toMatchObject({ reason: "embedding_timeout", retryable: true });
  });

  it("a refused connection is retryable", async () => {
    const port = await unusedPort();
    const error = await failure(new OpenAIEmbedder({ ...OPENAI_DEFAULTS, baseUrl: `http://127.0.0.1:${port}`, apiKey: KEY }).embed(["x"]));
    expect(error).toMatchObject({ reason: "embedding_unreachable", retryable: true });
  });

  it("text-embedding-3-small's 1536 dimensions are known; a server answering another size is a misconfiguration", async () => {
    server = await fakeServer(openai(3));
    const embedder = new OpenAIEmbedder({ ...OPENAI_DEFAULTS, baseUrl: server.url, apiKey: KEY });
    expect(embedder.dimension).toBe(1536);
    const error = await failure(embedder.embed(["x"]));
    expect(error).toMatchObject({ reason: "embedding_dimension_mismatch", retryable: false });
  });

  it("a learned dimension that changes later is a misconfiguration", async () => {
    let dimension = 3;
    server = await fakeServer((request, response) =>
      json(response, 200, { data: request.body.input.map((text: string, index: number) => ({ index, embedding: vectorFor(text, dimension) })) }));
    const embedder = new OpenAIEmbedder({ ...OPENAI_DEFAULTS, baseUrl: server.url, model: "tiny" });
    await embedder.embed(["x"]);
    dimension = 5;
    const error = await failure(embedder.embed(["y"]));
    expect(error.message).toContain("5-dimensional vector, expected 3 (learned from an earlier answer)");
  });

  it("rejects duplicate, missing or out-of-range indices and non-numeric vectors", async () => {
    let data: unknown = [];
    server = await fakeServer((_, response) => json(response, 200, { data }));
    const embedder = new OpenAIEmbedder({ ...OPENAI_DEFAULTS, baseUrl: server.url, model: "tiny" });
    data = [{ index: 0, embedding: [1] }, { index: 0, embedding: [1] }];
    expect(await failure(embedder.embed(["a", "b"]))).toMatchObject({ reason: "embedding_bad_response", retryable: false });
    data = [{ index: 5, embedding: [1] }];
    expect(await failure(embedder.embed(["a"]))).toMatchObject({ reason: "embedding_bad_response" });
    data = [{ index: 0, embedding: ["1"] }];
    expect(await failure(embedder.embed(["a"]))).toMatchObject({ reason: "embedding_bad_response" });
    data = { nope: true };
    expect((await failure(embedder.embed(["a"]))).message).toContain('no "data" array');
  });
});
