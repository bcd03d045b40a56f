import { describe, expect, it } from "vitest";
import { EmbeddingError, contentHash } from "../../src/embed/embedder.js";

describe("contentHash", () => {
  it("is the sha256 of the UTF-8 text", () => {
    expect(contentHash("hello").toString("hex")).toBe("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    expect(contentHash("").toString("hex")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    // "é" is the two UTF-8 bytes c3 a9.
    expect(contentHash("é").toString("hex")).toBe("4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c");
  });

  it("is a 32-byte Buffer", () => {
    const hash = contentHash("anything");
    expect(Buffer.isBuffer(hash)).toBe(true);
    expect(hash.length).toBe(32);
  });
});

describe("EmbeddingError", () => {
  it("carries a stable code, retryability and cause", () => {
    const cause = new Error("socket hang up");
    const error = new EmbeddingError("ollama: request failed", { retryable: true, cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("EmbeddingError");
    expect(error.code).toBe("embedding_failed");
    expect(error.retryable).toBe(true);
    expect(error.cause).toBe(cause);
    expect(error.message).toBe("ollama: request failed");
    expect(new EmbeddingError("bad model", { retryable: false }).retryable).toBe(false);
  });
});
