import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config.js";
import { authMode, verifyBearer } from "../../src/http/auth.js";

const KEY_A = "key-a-0123456789abcdef";
const KEY_B = "key-b-0123456789abcdef";

describe("API keys", () => {
  const { api } = parseConfig({ PARLEY_API_KEYS: `${KEY_A}, ${KEY_B}` });

  it("keeps only sha256 hashes of the configured keys", () => {
    expect(api.keyHashes).toHaveLength(2);
    expect(api.keyHashes.every((hash) => hash.length === 32)).toBe(true);
    expect(JSON.stringify(api)).not.toContain(KEY_A);
    expect(JSON.stringify(api)).not.toContain(Buffer.from(KEY_A).toString("hex"));
  });

  it("accepts each configured key and says which one it was", () => {
    expect(verifyBearer(`Bearer ${KEY_A}`, api.keyHashes)).toEqual({ ok: true, keyIndex: 1 });
    expect(verifyBearer(`bearer ${KEY_B}`, api.keyHashes)).toEqual({ ok: true, keyIndex: 2 });
  });

  it("tells a missing key from a malformed header and an unknown key", () => {
    expect(verifyBearer(undefined, api.keyHashes)).toEqual({ ok: false, reason: "missing" });
    expect(verifyBearer(KEY_A, api.keyHashes)).toEqual({ ok: false, reason: "malformed" });
    expect(verifyBearer(`Basic ${KEY_A}`, api.keyHashes)).toEqual({ ok: false, reason: "malformed" });
    expect(verifyBearer(`Bearer ${KEY_A}x`, api.keyHashes)).toEqual({ ok: false, reason: "unknown" });
  });

  it("rejects a short key at start-up, naming the variable", () => {
    expect(() => parseConfig({ PARLEY_API_KEYS: `${KEY_A},short` })).toThrow(/PARLEY_API_KEYS: key 2 must be at least 16/);
  });

  it("refuses to serve without keys unless PARLEY_API_AUTH=off says so", () => {
    expect(() => authMode(parseConfig({}).api)).toThrow(ConfigError);
    expect(() => authMode(parseConfig({}).api)).toThrow(/PARLEY_API_KEYS: is required.*PARLEY_API_AUTH=off/);
    expect(authMode(parseConfig({ PARLEY_API_AUTH: "off" }).api)).toBe("off");
    expect(authMode(api)).toBe("keys");
  });
});
