// The operator's routes, which the dashboard (GET /dashboard) is built on: pipeline health,
// FAILED events by error_code, a user's last events, and the token an EventSource needs.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  failuresQuery, failuresSchema, pipelineStatsSchema, readFailures, readPipelineStats, readUserEvents, streamTokenSchema,
  userEventsQuery, userEventsSchema,
} from "../operations.js";
import { verifyBearer } from "../auth.js";
import { errorResponses, userParams } from "../route-schemas.js";
import { issueStreamToken, streamCookie, STREAM_TOKEN_SECONDS } from "../stream-token.js";
import type { RouteContext } from "./context.js";

export const operationsRoutes: FastifyPluginAsyncZod<RouteContext> = async (app, { db, config }) => {
  app.get("/v1/pipeline/stats", {
    schema: {
      tags: ["operations"],
      summary: "Counts per status, oldest pending age, latency percentiles and throughput (parley.pipeline_stats, parley.pipeline_throughput)",
      response: { 200: pipelineStatsSchema, ...errorResponses(401, 503) },
    },
  }, async (_request, reply) => reply.code(200).send(await readPipelineStats(db)));

  app.get("/v1/events/failed", {
    schema: {
      tags: ["operations"],
      summary: "FAILED events grouped by error_code, with the newest of each group (parley.failures_by_code)",
      description: "Retry one with POST /v1/events/:event_id/retry once its cause is fixed.",
      querystring: failuresQuery,
      response: { 200: failuresSchema, ...errorResponses(400, 401, 503) },
    },
  }, async (request, reply) => reply.code(200).send(await readFailures(db, request.query.per_code)));

  app.get("/v1/users/:profile_id/events", {
    schema: {
      tags: ["users"],
      summary: "A user's last events, newest first, with their status, error and results",
      params: userParams,
      querystring: userEventsQuery,
      response: { 200: userEventsSchema, ...errorResponses(400, 401, 503) },
    },
  }, async (request, reply) => reply.code(200).send(await readUserEvents(db, request.params.profile_id, request.query.limit)));

  app.post("/v1/events/stream/token", {
    schema: {
      tags: ["events"],
      summary: "A short-lived cookie with which a browser's EventSource opens GET /v1/events/stream",
      description: [
        `EventSource cannot send an Authorization header, and an API key must not go in a URL. This answers with`,
        `Set-Cookie: parley_stream=<token>; Path=/v1/events/stream; HttpOnly; SameSite=Strict, good for ${STREAM_TOKEN_SECONDS} s:`,
        "long enough to open the stream (the stream stays open past it); ask again to reconnect after it expired.",
        "With PARLEY_API_AUTH=off the stream is open and no cookie is set.",
      ].join(" "),
      response: { 200: streamTokenSchema, ...errorResponses(401) },
    },
  }, async (request, reply) => {
    const expiresAt = new Date(Date.now() + STREAM_TOKEN_SECONDS * 1000);
    const key = verifyBearer(request.headers.authorization, config.api.keyHashes);
    if (!key.ok) return reply.code(200).send({ expires_at: expiresAt.toISOString() });
    const { token, expiresAt: expires } = issueStreamToken(key.keyIndex, config.api.keyHashes);
    reply.header("set-cookie", streamCookie(token, expires, request.protocol === "https"));
    reply.header("cache-control", "no-store");
    return reply.code(200).send({ expires_at: expires.toISOString() });
  });
};
