import { afterEach, describe, expect, it } from "vitest";
import { OllamaEmbedder } from "../../src/embed/ollama.js";
import { EmbeddingError } from "../../src/embed/embedder.js";
import { ProviderError } from "../../src/embed/remote.js";
import { createEmbedder } from "../../src/embed/index.js";
import { parseConfig } from "../../src/config.js";
import { classifyFailure } from "../../src/worker/errors.js";
import { rejected, unusedPort } from "../support/fixtures.js";
import { fakeServer, json, OLLAMA_DEFAULTS, vectorFor, type Handler } from "./fake-server.js";

let server: Awaited<ReturnType<typeof fakeServer>> | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Speaks Ollama's /api/embed: one vector per input, of `dimension` numbers. */
function ollama(dimension = 4): Handler {
  return (request, response) => {
    if (request.method !== "POST" || request.path !== "/api/embed") return json(response, 404, { error: "404 page not found" });
    if (request.body.model !== "nomic-embed-text" && request.body.model !== "tiny") {
      return json(response, 404, { error: `model "${request.body.model}" not found, try pulling it first` });
    }
    json(response, 200, { model: request.body.model, embeddings: request.body.input.map((text: string) => vectorFor(text, dimension)) });
  };
}

const failure = (promise: Promise<unknown>) => rejected(promise, ProviderError);

describe("OllamaEmbedder", () => {
  it("posts {model, input} to /api/embed and returns unit vectors in input order", async () => {
    server = await fakeServer(ollama());
    const embedder = new OllamaEmbedder({ ...OLLAMA_DEFAULTS, url: `${server.url}/`, model: "tiny" });
    const vectors = await embedder.embed(["abc", "hello world"]);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]).toMatchObject({ path: "/api/embed", body: { model: "tiny", input: ["abc", "hello world"] } });
    expect(server.requests[0]!.headers["content-type"]).toBe("application/json");
    const expected = (length: number) => [length / Math.hypot(length, 1), 1 / Math.hypot(length, 1), 0, 0];
    expect(Array.from(vectors[0]!)).toEqual(expected(3).map((x) => Math.fround(x)));
    expect(Array.from(vectors[1]!)).toEqual(expected(11).map((x) => Math.fround(x)));
    expect(embedder.model).toBe("ollama:tiny");
  });

  it("batches texts, one request per batch, and gives empty texts the zero vector without sending them", async () => {
    server = await fakeServer(ollama());
    const embedder = new OllamaEmbedder({ ...OLLAMA_DEFAULTS, url: server.url, model: "tiny", batchSize: 2 });
    const vectors = await embedder.embed(["a", "", "bb", "  ", "ccc", "dddd", "eeeee"]);
    expect(server.requests.map((r) => r.body.input)).toEqual([["a", "bb"], ["ccc", "dddd"], ["eeeee"]]);
    expect(vectors).toHaveLength(7);
    expect(Array.from(vectors[1]!)).toEqual([0, 0, 0, 0]);
    expect(Array.from(vectors[3]!)).toEqual([0, 0, 0, 0]);
    expect(vectors[6]![0]).toBeCloseTo(5 / Math.hypot(5, 1), 6);
  });

  it("the configured default, nomic-embed-text, has its 768 dimensions known before any call", async () => {
    const embedder = new OllamaEmbedder(OLLAMA_DEFAULTS);
    expect(embedder.model).toBe("ollama:nomic-embed-text");
    expect(embedder.dimension).toBe(768);
  });

  it("learns an unknown model's dimension from the first answer (resolveDimension probes once)", async () => {
    server = await fakeServer(ollama(6));
    const embedder = new OllamaEmbedder({ ...OLLAMA_DEFAULTS, url: server.url, model: "tiny" });
    expect(embedder.dimension).toBe(0);
    expect(await embedder.resolveDimension()).toBe(6);
    expect(await embedder.resolveDimension()).toBe(6);
    expect(server.requests).toHaveLength(1);
  });

  it("a vector of another size than the configured dimension is a misconfiguration, not retried", async () => {
    server = await fakeServer(ollama(4));
    const error = await failure(new OllamaEmbedder({ ...OLLAMA_DEFAULTS, url: server.url, model: "tiny", dimension: 8 }).embed(["x"]));
    expect(error).toMatchObject({ reason: "embedding_dimension_mismatch", retryable: false, code: "embedding_failed" });
    expect(error.message).toMatch(/4-dimensional vector, expected 8.*PARLEY_EMBED_DIMENSION/);
  });

  it("a model that is not pulled fails for good with the server's words and how to fix it", async () => {
    server = await fakeServer(ollama());
    const error = await failure(new OllamaEmbedder({ ...OLLAMA_DEFAULTS, url: server.url, model: "llama-nope" }).embed(["x"]));
    expect(error.retryable).toBe(false);
    expect(error.reason).toBe("embedding_model_not_found");
    expect(error.message).toContain('model "llama-nope" not found, try pulling it first');
    expect(error.message).toContain("ollama pull llama-nope");
  });

  it("a 500 is transient: retryable, so the event backs off and tries again", async () => {
    server = await fakeServer((_, response) => json(response, 500, { error: "model runner has unexpectedly stopped" }));
    const error = await failure(new OllamaEmbedder({ ...OLLAMA_DEFAULTS, url: server.url, model: "tiny" }).embed(["x"]));
    expect(error).toMatchObject({ reason: "embedding_server_error", retryable: true });
    expect(error.message).toContain("answered 500: model runner has unexpectedly stopped");
    expect(classifyFailure(error)).toMatchObject({ code: "embedding_failed", retryable: true });
  });

  it("a 429 is transient", async () => {
    server = await fakeServer((_, response) => json(response, 429, { error: "too many requests" }));
    const error = await failure(new OllamaEmbedder({ ...OLLAMA_DEFAULTS, url: server.url, model: "tiny" }).embed(["x"]));
    expect(error).toMatchObject({ reason: "embedding_rate_limited", retryable: true });
  });

  it("a 401 from a proxy in front of Ollama fails for good", async () => {
    server = await fakeServer((_, response) => json(response, 401, { error: "unauthorized" }));
    const error = await failure(new OllamaEmbedder({ ...OLLAMA_DEFAULTS, url: server.url, model: "tiny" }).embed(["x"]));
    expect(error).toMatchObject({ reason: "embedding_auth_failed", retryable: false });
  });

  it("a server that does not answer in time is a retryable timeout", async () => {
    server = await fakeServer(() => {}); // never answers
    const error = await failure(new OllamaEmbedder({ ...OLLAMA_DEFAULTS, url: server.url, model: "tiny", timeoutMs: 100 }).embed(["x"]));
    expect(error).toMatchObject({ reason: "embedding_timeout", retryable: true });
    expect(error.message).toContain("did not answer within 100 ms");
  });

  it("a body that stalls after the headers also times out", async () => {
    server = await fakeServer((_, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.write('{"embeddings": [');
    });
    const error = await failure(new OllamaEmbedder({ ...OLLAMA_DEFAULTS, url: server.url, model: "tiny", timeoutMs: 100 }).embed(["x"]));
    expect(error).toMatchObject({ reason: "embedding_timeout", retryable: true });
  });

  it("a refused connection is retryable and names the address", async () => {
    const port = await unusedPort();
    const error = await failure(new OllamaEmbedder({ ...OLLAMA_DEFAULTS, url: `http://127.0.0.1:${port}`, model: "tiny" }).embed(["x"]));
    expect(error).toMatchObject({ reason: "embedding_unreachable", retryable: true });
    expect(error.message).toContain(`cannot reach ollama at http://127.0.0.1:${port}/api/embed: ECONNREFUSED`);
  });

  it("an answer of the wrong shape is not retried", async () => {
    server = await fakeServer((request, response) => json(response, 200, { embedding: [1, 2] }));
    const shape = await failure(new OllamaEmbedder({ ...OLLAMA_DEFAULTS, url: server.url, model: "tiny" }).embed(["x"]));
    expect(shape).toMatchObject({ reason: "embedding_bad_response", retryable: false });
    await server.close();
    server = await fakeServer((request, response) => json(response, 200, { embeddings: [[1, 2]] }));
    const count = await failure(new OllamaEmbedder({ ...OLLAMA_DEFAULTS, url: server.url, model: "tiny" }).embed(["x", "y"]));
    expect(count.message).toContain("returned 1 vectors for 2 texts");
    await server.close();
    server = await fakeServer((request, response) => {
      response.writeHead(200, { "content-type": "text/html" });
      response.end("<html>hello</html>");
    });
    const html = await failure(new OllamaEmbedder({ ...OLLAMA_DEFAULTS, url: server.url, model: "tiny" }).embed(["x"]));
    expect(html.message).toContain("not JSON: <html>hello</html>");
  });

  it("is an EmbeddingError, so the worker records embedding_failed with the reason in error_details", async () => {
    server = await fakeServer((_, response) => response.writeHead(503).end());
    const error = await failure(new OllamaEmbedder({ ...OLLAMA_DEFAULTS, url: server.url, model: "tiny" }).embed(["x"]));
    expect(error).toBeInstanceOf(EmbeddingError);
    expect(classifyFailure(error).details).toMatch(/^embedding_server_error: ollama at http:\/\/127\.0\.0\.1:\d+\/api\/embed answered 503$/);
  });

  it("createEmbedder('ollama', settings) uses the configured URL, model, timeout and dimension", async () => {
    server = await fakeServer(ollama(4));
    const embedder = createEmbedder("ollama", { ...parseConfig({}).embedding, ollama: { url: server.url, model: "tiny" }, timeoutMs: 1000, dimension: 4 });
    expect(embedder).toBeInstanceOf(OllamaEmbedder);
    expect(embedder.dimension).toBe(4);
    await embedder.embed(["x"]);
    expect(server.requests[0]!.body.model).toBe("tiny");
  });

  it("rejects a URL that does not parse", () => {
    expect(() => new OllamaEmbedder({ ...OLLAMA_DEFAULTS, url: "localhost 11434" })).toThrow(/embedding_misconfigured: ollama: PARLEY_OLLAMA_URL is not a URL/);
  });
});
