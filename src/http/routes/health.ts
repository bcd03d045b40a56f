// GET /health, the one route without authentication: load balancers and
// orchestrators probe it. It says whether PostgreSQL answers, how deep the
// queue is and which workers are alive; it never fails with a 500.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { isDatabaseUnavailable } from "../../ingest/errors.js";
import { readHealth } from "../queries.js";
import { healthSchema } from "../route-schemas.js";
import type { RouteContext } from "./context.js";

export const healthRoutes: FastifyPluginAsyncZod<RouteContext> = async (app, { db, hub, config, retryAfterSeconds }) => {
  app.get("/health", {
    config: { public: true },
    schema: {
      tags: ["operations"],
      security: [],
      summary: "Database reachability, queue depth, oldest pending age and worker heartbeats (no authentication)",
      description: "200 with status ok, or degraded when no worker sent a heartbeat recently; 503 when PostgreSQL does not answer.",
      response: { 200: healthSchema, 503: healthSchema },
    },
  }, async (request, reply) => {
    const eventStream = { listening: hub.listening, clients: hub.clients };
    try {
      const health = await readHealth(db, config.workerStaleAfterSeconds);
      const status = health.workers.some((worker) => worker.alive) ? "ok" : "degraded";
      return reply.code(200).send({ status, ...health, event_stream: eventStream });
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      request.log.warn({ err: error }, "health: database unavailable");
      return reply.code(503).header("retry-after", String(retryAfterSeconds)).send({
        status: "unavailable",
        database: { reachable: false, latency_ms: null },
        queue: null,
        workers: [],
        event_stream: eventStream,
      });
    }
  });
};
