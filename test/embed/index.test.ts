import { describe, expect, it } from "vitest";
import {
  EMBEDDER_NAMES,
  HashingEmbedder,
  LocalEmbedder,
  createEmbedder,
  type EmbedderName,
} from "../../src/embed/index.js";
import { parseConfig } from "../../src/config.js";

const settings = parseConfig({}).embedding;

describe("createEmbedder", () => {
  it("makes the embedder of each known name", () => {
    expect(EMBEDDER_NAMES).toEqual(["local", "hashing", "ollama", "openai"]);
    const hashing = createEmbedder("hashing", settings);
    expect(hashing).toBeInstanceOf(HashingEmbedder);
    expect(hashing.model).toBe("hashing-1024");
    const local = createEmbedder("local", settings);
    expect(local).toBeInstanceOf(LocalEmbedder);
    expect(local.model).toBe("use-lite-512");
    expect(local.dimension).toBe(512);
  });

  it("names the unknown value and the allowed ones", () => {
    expect(() => createEmbedder("openai-large" as EmbedderName, settings)).toThrow(
      'unknown embedder "openai-large": expected one of local, hashing, ollama, openai',
    );
    expect(() => createEmbedder("toString" as EmbedderName, settings)).toThrow(/unknown embedder "toString"/);
  });
});
