// Bearer API keys. The configuration holds only the keys' sha256 hashes
// (src/config.ts); a presented key is hashed and compared with every stored
// hash in constant time, so neither timing nor an early exit tells how close
// a guess came. Keys are never logged: the logger redacts the header.
// `authPlugin` checks them on every request but those of a route whose config
// says `public: true`.
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyPluginAsync } from "fastify";
import fastifyPlugin from "fastify-plugin";
import { ConfigError, type Config } from "../config.js";
import { ParleyError } from "../ingest/errors.js";
import { sendError } from "./errors.js";
import { bindLog } from "./routes/context.js";
import { verifyStreamCookie } from "./stream-token.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Served without an API key: GET /health and the dashboard's files. */
    public?: boolean;
  }
}

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

/**
 * Every request needs a valid key (or, on the event stream, the stream cookie), except on a
 * public route. Not encapsulated: it guards every route of the app that registers it.
 */
const auth: FastifyPluginAsync<{ keyHashes: readonly Buffer[] }> = async (app, { keyHashes }) => {
  app.addHook("onRequest", async (request, reply) => {
    if (request.routeOptions.config.public === true) return;
    // A browser's EventSource sends the stream cookie instead (src/http/stream-token.ts).
    const result = verifyStreamCookie(request, keyHashes) ?? verifyBearer(request.headers.authorization, keyHashes);
    if (!result.ok) {
      request.log.info({ reason: result.reason }, "rejected: no valid API key");
      return sendError(reply.header("www-authenticate", 'Bearer realm="parley"'), new ParleyError("unauthorized", AUTH_MESSAGES[result.reason]));
    }
    // Which configured key (its position in PARLEY_API_KEYS), never the key.
    bindLog(request, { api_key: result.keyIndex });
  });
};

export const authPlugin = fastifyPlugin(auth, { name: "parley-auth" });
