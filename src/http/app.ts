// The HTTP API: a fastify app over the SQL API (src/ingest) and the tables,
// built without listening so that tests drive it with inject().
import { randomUUID } from "node:crypto";
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifySchemaCompiler } from "fastify";
import swagger from "@fastify/swagger";
import {
  jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, type ZodTypeProvider,
} from "fastify-type-provider-zod";
import type { z } from "zod";
import type pg from "pg";
import type { Registry } from "prom-client";
import type { Config } from "../config.js";
import { createDb } from "../db/pool.js";
import { fromDatabaseError, invalidPayload, ParleyError } from "../ingest/errors.js";
import { LIMITS } from "../ingest/payloads.js";
import type { Logger } from "../log.js";
import { authMode, authPlugin } from "./auth.js";
import { sendError } from "./errors.js";
import { EventHub } from "./stream/hub.js";
import { metricsPlugin } from "./metrics.js";
import { conversationRoutes } from "./routes/conversations.js";
import { bindLog, type RouteContext } from "./routes/context.js";
import { dashboardRoutes } from "./routes/dashboard.js";
import { eventRoutes } from "./routes/events.js";
import { healthRoutes } from "./routes/health.js";
import { operationsRoutes } from "./routes/operations.js";
import { userRoutes } from "./routes/users.js";
import { webhookRoutes } from "./routes/webhooks.js";

/**
 * A little above the SQL API's 1 MiB: PostgreSQL measures the payload as
 * jsonb text, which can be larger or smaller than the JSON sent. Bodies above
 * this are 413 here; bodies below it that SQL finds too large are 413 too.
 */
export const BODY_LIMIT = Math.ceil(LIMITS.payload_bytes * 1.5);
export const RETRY_AFTER_SECONDS = 5;
const SSE_HEARTBEAT_MS = 15_000;

export interface AppOptions {
  pool: pg.Pool;
  log: Logger;
  config: Config;
  /** When given, GET /metrics serves it (behind authentication like every route but /health). */
  metricsRegistry?: Registry;
  /** The process's LISTEN connection; built from the pool's connection settings when absent. */
  eventHub?: EventHub;
  /** Keep-alive comment interval on SSE streams (tests shorten it). */
  sseHeartbeatMs?: number;
}

// Callers may pass their own request id (a load balancer's); anything else gets a fresh one.
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export function buildApp(options: AppOptions): FastifyInstance {
  const { pool, config } = options;
  const auth = authMode(config.api);
  const log = options.log.child({ component: "api" }, {
    redact: { paths: ["req.headers.authorization", "req.headers.cookie", "headers.authorization"], censor: "[redacted]" },
  });
  if (auth === "off") {
    log.warn("API authentication is OFF (PARLEY_API_AUTH=off): every route is open to anyone who can reach the port");
  }
  const db = createDb(pool);
  const hub = options.eventHub ?? new EventHub({ connection: pool.options, db, log });

  const app = Fastify({
    loggerInstance: log,
    logController: new LogController({
      requestIdLogLabel: "request_id",
      // Probes hit /health every few seconds; their lines would drown the rest.
      disableRequestLogging: (request) => request.url === "/health",
    }),
    requestIdHeader: false,
    genReqId: (request) => {
      const given = request.headers["x-request-id"];
      return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    },
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // JSON only: anything else is 415, not a string for the schema to puzzle
  // over. An empty body is "no payload", not a parse error: POST .../close
  // needs none, and a route that does answers "payload: is required".
  const defaultJsonParser = app.getDefaultJsonParser("error", "error");
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = body.toString();
    if (text.trim() === "") return done(null, undefined);
    defaultJsonParser(request, text, done);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const parley = toParleyError(error, request.id);
    if (parley.code === "internal_error") {
      request.log.error({ err: error }, "request failed");
    } else {
      request.log.info({ code: parley.code, field: parley.field, ...(parley.code === "database_unavailable" ? { err: error } : {}) }, parley.message);
    }
    if (parley.code === "database_unavailable") reply.header("retry-after", String(RETRY_AFTER_SECONDS));
    return sendError(reply, parley);
  });
  app.setNotFoundHandler((request, reply) => {
    return sendError(reply, new ParleyError("not_found", `no route ${request.method} ${request.url.split("?")[0]}`));
  });

  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  // The ids in a route's path (conversation_id, profile_id, event_id, webhook_id), once
  // validated, are in every later log line of the request, the completion line included.
  app.addHook("preHandler", async (request) => {
    if (request.routeOptions.schema?.params) bindLog(request, request.params as Record<string, unknown>);
  });
  if (auth === "keys") app.register(authPlugin, { keyHashes: config.api.keyHashes });

  app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Parley",
        version: "0.1.0",
        description: "Stores AI-chat conversations and processes each one exactly once in effect. Every route but /health needs Authorization: Bearer <key>.",
      },
      components: { securitySchemes: { apiKey: { type: "http", scheme: "bearer" } } },
      security: [{ apiKey: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });

  const context: RouteContext = {
    pool,
    db,
    config,
    hub,
    retryAfterSeconds: RETRY_AFTER_SECONDS,
    sseHeartbeatMs: options.sseHeartbeatMs ?? SSE_HEARTBEAT_MS,
  };
  app.register(async (scoped) => {
    // GET /metrics and the request counter; registered first so that its hooks see every route.
    if (options.metricsRegistry) await scoped.register(metricsPlugin, { registry: options.metricsRegistry });
    await scoped.register(healthRoutes, context);
    await scoped.register(conversationRoutes, context);
    await scoped.register(userRoutes, context);
    await scoped.register(eventRoutes, context);
    await scoped.register(operationsRoutes, context);
    await scoped.register(dashboardRoutes);
    await scoped.register(webhookRoutes, context);
    scoped.get("/docs/json", { schema: { hide: true } }, async () => app.swagger());
  });

  app.addHook("onClose", async () => {
    // The hub is the app's unless the caller passed one in; the pool is always the caller's.
    if (!options.eventHub) await hub.close();
  });
  return app as unknown as FastifyInstance;
}

const validatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema }) => (data) => {
  const result = schema.safeParse(data);
  return result.success ? { value: result.data } : { error: invalidPayload(result.error, data) };
};

function toParleyError(error: FastifyError, requestId: string): ParleyError {
  const known = fromDatabaseError(error);
  if (known) return known;
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new ParleyError("payload_too_large", `payload: the request body is larger than ${BODY_LIMIT} bytes`, "payload");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new ParleyError("unsupported_media_type", "payload: send it as Content-Type: application/json", "payload");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new ParleyError("invalid_payload", "payload: is not valid JSON", "payload");
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new ParleyError("invalid_payload", "payload: the body does not match its Content-Length", "payload");
  }
  if (typeof error.statusCode === "number" && error.statusCode >= 400 && error.statusCode < 500) {
    return new ParleyError("invalid_payload", error.message);
  }
  return new ParleyError("internal_error", `internal error (request ${requestId}); the server log has the details`);
}
