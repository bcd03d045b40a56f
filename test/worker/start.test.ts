// A remote model of unknown size is asked for its dimension before the worker starts.
import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { waitFor } from "../support/fixtures.js";
import { OllamaEmbedder } from "../../src/embed/ollama.js";
import { waitForDimension } from "../../src/worker/start.js";
import { fakeServer, json, OLLAMA_DEFAULTS, vectorFor } from "../embed/fake-server.js";

const log = pino({ level: "silent" });

describe("waitForDimension", () => {
  it("waits out an unreachable provider, then learns the dimension", async () => {
    let calls = 0;
    const server = await fakeServer((request, response) => {
      calls++;
      if (calls < 3) return json(response, 503, { error: "loading model" });
      json(response, 200, { embeddings: request.body.input.map((text: string) => vectorFor(text, 5)) });
    });
    try {
      const embedder = new OllamaEmbedder({ ...OLLAMA_DEFAULTS, url: server.url, model: "tiny" });
      await waitForDimension(embedder, log, undefined, 10);
      expect(embedder.dimension).toBe(5);
      expect(calls).toBe(3);
    } finally {
      await server.close();
    }
  });

  it("stops start-up on a misconfiguration", async () => {
    const server = await fakeServer((_, response) => json(response, 404, { error: 'model "tiny" not found, try pulling it first' }));
    try {
      await expect(waitForDimension(new OllamaEmbedder({ ...OLLAMA_DEFAULTS, url: server.url, model: "tiny" }), log, undefined, 10))
        .rejects.toThrow(/embedding_model_not_found/);
    } finally {
      await server.close();
    }
  });

  it("gives up when start-up is aborted", async () => {
    const server = await fakeServer((_, response) => json(response, 503, {}));
    try {
      const controller = new AbortController();
      const waiting = waitForDimension(new OllamaEmbedder({ ...OLLAMA_DEFAULTS, url: server.url, model: "tiny" }), log, controller.signal, 60_000);
      await waitFor(async () => server.requests.length > 0);
      controller.abort();
      await expect(waiting).rejects.toThrow(/abort/i);
    } finally {
      await server.close();
    }
  });
});
