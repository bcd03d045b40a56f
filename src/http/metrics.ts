// GET /metrics on the API, plus request counts and durations per route, as a plugin that
// buildApp registers with the process's registry (src/metrics/registry.ts). Not encapsulated:
// its hooks count every route registered after it. The route sits behind the API's
// authentication like every route but /health.
import type { FastifyPluginAsync } from "fastify";
import fastifyPlugin from "fastify-plugin";
import { Counter, Histogram, type Registry } from "prom-client";

const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const metrics: FastifyPluginAsync<{ registry: Registry }> = async (app, { registry }) => {
  // Several apps may share one registry (tests, npm start): register each metric once.
  const requests = (registry.getSingleMetric("parley_http_requests_total") as Counter<"method" | "route" | "status_code"> | undefined) ??
    new Counter({
      name: "parley_http_requests_total",
      help: "HTTP requests answered, by method, route pattern and status code.",
      labelNames: ["method", "route", "status_code"] as const,
      registers: [registry],
    });
  const durations = (registry.getSingleMetric("parley_http_request_seconds") as Histogram<"method" | "route"> | undefined) ??
    new Histogram({
      name: "parley_http_request_seconds",
      help: "Time to answer an HTTP request (for SSE streams: until the stream closed).",
      labelNames: ["method", "route"] as const,
      buckets: BUCKETS,
      registers: [registry],
    });

  app.addHook("onResponse", async (request, reply) => {
    // The route pattern, not the URL: ids in paths would make one series per conversation.
    const route = request.routeOptions.url ?? "unmatched";
    if (route === "/metrics") return;
    requests.inc({ method: request.method, route, status_code: String(reply.statusCode) });
    durations.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  app.get("/metrics", async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
};

export const metricsPlugin = fastifyPlugin(metrics, { name: "parley-metrics" });
