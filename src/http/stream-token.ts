// How a browser's EventSource authenticates to GET /v1/events/stream. An EventSource cannot send
// an Authorization header, and the API key must never travel in a URL (access logs, history,
// Referer). So the page, holding the key, asks POST /v1/events/stream/token, which answers with
// a short-lived token in an HttpOnly cookie scoped to the stream's path; the browser sends that
// cookie with the EventSource's request, and with its automatic reconnects while it lasts.
//
// The token is "<key index>.<expiry>.<HMAC-SHA256 of both under that key's hash>": stateless (any
// API process with the same PARLEY_API_KEYS accepts it), unforgeable without the key, dead as
// soon as the key is removed, and good for STREAM_TOKEN_SECONDS.
import { createHmac, timingSafeEqual } from "node:crypto";
import { parseCookie, stringifySetCookie } from "cookie";
import type { AuthResult } from "./auth.js";

export const STREAM_PATH = "/v1/events/stream";
export const STREAM_COOKIE = "parley_stream";
export const STREAM_TOKEN_SECONDS = 60;

const TOKEN = /^(\d{1,4})\.(\d{1,12})\.([0-9a-f]{64})$/;

function signature(keyHash: Buffer, keyIndex: number, expires: number): Buffer {
  return createHmac("sha256", keyHash).update(`parley-stream:${keyIndex}.${expires}`).digest();
}

/** A token for the key at `keyIndex` (1-based, as verifyBearer reports it). */
export function issueStreamToken(keyIndex: number, keyHashes: readonly Buffer[], now = Date.now()): { token: string; expiresAt: Date } {
  const keyHash = keyHashes[keyIndex - 1];
  if (keyHash === undefined) throw new RangeError(`no API key ${keyIndex}`);
  const expires = Math.floor(now / 1000) + STREAM_TOKEN_SECONDS;
  return {
    token: `${keyIndex}.${expires}.${signature(keyHash, keyIndex, expires).toString("hex")}`,
    expiresAt: new Date(expires * 1000),
  };
}

export function verifyStreamToken(token: string, keyHashes: readonly Buffer[], now = Date.now()): AuthResult {
  const match = TOKEN.exec(token);
  if (!match) return { ok: false, reason: "malformed" };
  const keyIndex = Number(match[1]);
  const expires = Number(match[2]);
  const keyHash = keyHashes[keyIndex - 1];
  if (keyHash === undefined || !timingSafeEqual(signature(keyHash, keyIndex, expires), Buffer.from(match[3]!, "hex"))) {
    return { ok: false, reason: "unknown" };
  }
  if (expires * 1000 <= now) return { ok: false, reason: "expired" };
  return { ok: true, keyIndex };
}

/** The Set-Cookie header carrying a token: script cannot read it, other sites cannot send it. */
export function streamCookie(token: string, expiresAt: Date, secure: boolean): string {
  return stringifySetCookie({
    name: STREAM_COOKIE,
    value: token,
    path: STREAM_PATH,
    expires: expiresAt,
    maxAge: STREAM_TOKEN_SECONDS,
    httpOnly: true,
    sameSite: "strict",
    secure,
  });
}

/**
 * For a GET of the stream without an Authorization header: the stream cookie's verdict, or
 * undefined when there is no cookie (the Bearer rule applies then, as on every other route).
 */
export function verifyStreamCookie(
  request: { method: string; routeOptions: { url?: string | undefined }; headers: { authorization?: string | undefined; cookie?: string | undefined } },
  keyHashes: readonly Buffer[],
  now = Date.now(),
): AuthResult | undefined {
  if (request.method !== "GET" || request.routeOptions.url !== STREAM_PATH || request.headers.authorization !== undefined) return undefined;
  const token = request.headers.cookie === undefined ? undefined : parseCookie(request.headers.cookie)[STREAM_COOKIE];
  return token === undefined ? undefined : verifyStreamToken(token, keyHashes, now);
}
