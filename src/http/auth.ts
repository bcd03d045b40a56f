// Bearer API keys. The configuration holds only the keys' sha256 hashes
// (src/config.ts); a presented key is hashed and compared with every stored
// hash in constant time, so neither timing nor an early exit tells how close
// a guess came. Keys are never logged: the logger redacts the header.
import { createHash, timingSafeEqual } from "node:crypto";
import { ConfigError, type Config } from "../config.js";

export type AuthResult =
  | { ok: true; keyIndex: number }
  | { ok: false; reason: "missing" | "malformed" | "unknown" | "expired" };

export function verifyBearer(authorization: string | undefined, keyHashes: readonly Buffer[]): AuthResult {
  if (authorization === undefined || authorization.trim() === "") return { ok: false, reason: "missing" };
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  if (!match) return { ok: false, reason: "malformed" };
  const presented = createHash("sha256").update(match[1]!).digest();
  let found = -1;
  for (const [index, hash] of keyHashes.entries()) {
    // No early exit: every stored key is compared.
    if (timingSafeEqual(presented, hash) && found < 0) found = index;
  }
  return found >= 0 ? { ok: true, keyIndex: found + 1 } : { ok: false, reason: "unknown" };
}

export const AUTH_MESSAGES: Record<Exclude<AuthResult, { ok: true }>["reason"], string> = {
  missing: "an API key is required: send Authorization: Bearer <key>",
  malformed: "the Authorization header must be: Bearer <key>",
  unknown: "the API key is not valid",
  // Only a stream token (src/http/stream-token.ts) expires.
  expired: "the stream token has expired; get a new one with POST /v1/events/stream/token",
};

/**
 * Whether the API checks keys. With none configured it refuses to start
 * unless PARLEY_API_AUTH=off says, explicitly, to serve without them.
 */
export function authMode(api: Config["api"]): "keys" | "off" {
  if (api.auth === "off") return "off";
  if (api.keyHashes.length === 0) {
    throw new ConfigError("PARLEY_API_KEYS: is required by the HTTP API (comma-separated keys of 16+ characters); set PARLEY_API_AUTH=off to serve it without authentication");
  }
  return "keys";
}
