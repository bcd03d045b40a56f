import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { issueStreamToken, streamCookie, STREAM_TOKEN_SECONDS, verifyStreamCookie, verifyStreamToken } from "../../src/http/stream-token.js";

const hash = (key: string) => createHash("sha256").update(key).digest();
const keys = [hash("first-key-0123456789"), hash("second-key-0123456789")];
const now = Date.parse("2026-11-30T12:00:00Z");

describe("stream tokens", () => {
  it("are accepted for the key that asked, until they expire", () => {
    const { token, expiresAt } = issueStreamToken(2, keys, now);
    expect(expiresAt.getTime()).toBe(now + STREAM_TOKEN_SECONDS * 1000);
    expect(verifyStreamToken(token, keys, now)).toEqual({ ok: true, keyIndex: 2 });
    expect(verifyStreamToken(token, keys, now + STREAM_TOKEN_SECONDS * 1000 - 1)).toEqual({ ok: true, keyIndex: 2 });
    expect(verifyStreamToken(token, keys, now + STREAM_TOKEN_SECONDS * 1000)).toEqual({ ok: false, reason: "expired" });
  });

  it("cannot be forged, stretched or moved to another key, and die with their key", () => {
    const { token } = issueStreamToken(1, keys, now);
    const [index, expires, signature] = token.split(".");
    expect(verifyStreamToken(`${index}.${Number(expires) + 3600}.${signature}`, keys, now)).toEqual({ ok: false, reason: "unknown" });
    expect(verifyStreamToken(`2.${expires}.${signature}`, keys, now)).toEqual({ ok: false, reason: "unknown" });
    expect(verifyStreamToken(`${index}.${expires}.${"0".repeat(64)}`, keys, now)).toEqual({ ok: false, reason: "unknown" });
    // The key removed from PARLEY_API_KEYS (another key now in its place).
    expect(verifyStreamToken(token, [keys[1]!], now)).toEqual({ ok: false, reason: "unknown" });
    expect(verifyStreamToken(token, [], now)).toEqual({ ok: false, reason: "unknown" });
    for (const malformed of ["", "1.2", "x.1.aa", `1.${expires}.${signature}0`]) {
      expect(verifyStreamToken(malformed, keys, now)).toEqual({ ok: false, reason: "malformed" });
    }
  });

  it("refuses to issue for a key that is not configured", () => {
    expect(() => issueStreamToken(3, keys, now)).toThrow(RangeError);
  });

  it("travel in an HttpOnly, SameSite=Strict cookie scoped to the stream, Secure over HTTPS", () => {
    const { token, expiresAt } = issueStreamToken(1, keys, now);
    expect(streamCookie(token, expiresAt, false)).toBe(
      `parley_stream=${token}; Max-Age=60; Path=/v1/events/stream; Expires=Mon, 30 Nov 2026 12:01:00 GMT; HttpOnly; SameSite=Strict`);
    expect(streamCookie(token, expiresAt, true)).toMatch(/; Secure/);
  });

  it("are read from the cookie only on GET /v1/events/stream, and only without an Authorization header", () => {
    const { token } = issueStreamToken(1, keys, now);
    const request = (method: string, url: string, headers: Record<string, string>) => ({ method, routeOptions: { url }, headers });
    const cookie = `theme=dark; parley_stream=${token}`;
    expect(verifyStreamCookie(request("GET", "/v1/events/stream", { cookie }), keys, now)).toEqual({ ok: true, keyIndex: 1 });
    expect(verifyStreamCookie(request("GET", "/v1/users/:profile_id/state", { cookie }), keys, now)).toBeUndefined();
    expect(verifyStreamCookie(request("POST", "/v1/events/stream", { cookie }), keys, now)).toBeUndefined();
    expect(verifyStreamCookie(request("GET", "/v1/events/stream", { cookie, authorization: "Bearer x" }), keys, now)).toBeUndefined();
    expect(verifyStreamCookie(request("GET", "/v1/events/stream", { cookie: "theme=dark" }), keys, now)).toBeUndefined();
    expect(verifyStreamCookie(request("GET", "/v1/events/stream", {}), keys, now)).toBeUndefined();
  });
});
