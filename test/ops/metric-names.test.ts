// Every metric the Grafana dashboard (ops/grafana/parley.json) and the alert rules
// (ops/prometheus/alerts.yml) name exists in /metrics, with the label values they select: the
// /metrics of a process built as `npm start` builds it, after it processed a conversation and
// answered requests.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect } from "vitest";
import type { FastifyInstance } from "fastify";
import { parse } from "yaml";
import { it } from "../support/database.js";
import { buildApp } from "../../src/http/app.js";
import { createMetrics } from "../../src/metrics/registry.js";
import { startInstrumentedWorker } from "../../src/worker/start.js";
import type { RunningWorker } from "../../src/worker/runner.js";
import { AUTH, endPayload, silentLog, testConfig, until } from "../http/support.js";
import { missing, parseExposition, selectors, type Exposition } from "./promql.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

let app: FastifyInstance;
let worker: RunningWorker;
let exposition: Exposition;

it.beforeAll(async ({ database }) => {
  const config = testConfig();
  const metrics = createMetrics({ pool: database.pool, workerStaleAfterSeconds: 30, log: silentLog });
  app = buildApp({ pool: database.pool, log: silentLog, config, metricsRegistry: metrics.registry });
  worker = await startInstrumentedWorker({ config, pool: database.pool, log: silentLog, metrics });
  await worker.listening;
  const payload = endPayload();
  const ended = await app.inject({ method: "POST", url: "/v1/conversations/end", headers: AUTH, payload });
  expect(ended.statusCode).toBe(202);
  await until(async () => {
    const response = await app.inject({ method: "GET", url: `/v1/conversations/${payload.conversation_id}`, headers: AUTH });
    return response.json().event?.status === "PROCESSED";
  });
  const scraped = await app.inject({ method: "GET", url: "/metrics", headers: AUTH });
  expect(scraped.statusCode).toBe(200);
  exposition = parseExposition(scraped.body);
}, 60_000);
afterAll(async () => {
  await worker?.stop();
  await app?.close();
});

async function grafanaExpressions(): Promise<string[]> {
  const dashboard = JSON.parse(await readFile(path.join(ROOT, "ops/grafana/parley.json"), "utf8")) as {
    panels: Array<{ type: string; targets?: Array<{ expr: string }> }>;
  };
  return dashboard.panels.flatMap((panel) => panel.targets ?? []).map((target) => target.expr);
}

async function alertExpressions(): Promise<string[]> {
  const rules = parse(await readFile(path.join(ROOT, "ops/prometheus/alerts.yml"), "utf8")) as { groups: Array<{ rules: Array<{ expr: string }> }> };
  return rules.groups.flatMap((group) => group.rules).map((rule) => rule.expr);
}

describe("metric names", () => {
  it("every metric and label value the Grafana dashboard selects is in /metrics", async () => {
    const expressions = await grafanaExpressions();
    expect(expressions.length).toBeGreaterThan(15);
    const found = expressions.flatMap(selectors);
    expect(found.length).toBeGreaterThanOrEqual(expressions.length);
    expect(found.map((selector) => missing(selector, exposition)).filter(Boolean)).toEqual([]);
  });

  it("every metric and label value the alert rules select is in /metrics", async () => {
    const found = (await alertExpressions()).flatMap(selectors);
    expect(found.map((selector) => selector.metric)).toContain("parley_embedding_errors_total");
    expect(found.map((selector) => missing(selector, exposition)).filter(Boolean)).toEqual([]);
  });

  it("the check itself catches a misspelt metric, a label value that never occurs, and a histogram suffix on a counter", () => {
    expect(missing({ metric: "parley_events_procesed_total", labels: {} }, exposition)).toMatch(/no such metric/);
    expect(missing({ metric: "parley_events_processed_total", labels: { status: "lost" } }, exposition)).toMatch(/no series/);
    expect(missing({ metric: "parley_events_failed_count", labels: {} }, exposition)).toMatch(/no such metric/);
    expect(missing({ metric: "parley_event_end_to_end_seconds_bucket", labels: { le: "+Inf" } }, exposition)).toBeUndefined();
  });
});

describe("selectors", () => {
  it("finds the metrics of an expression and their equality matchers, not its functions, labels or ranges", () => {
    expect(selectors('histogram_quantile(0.99, sum by (le, route) (rate(parley_http_request_seconds_bucket{method="GET", route=~"/v1.*"}[5m]))) > 60'))
      .toEqual([{ metric: "parley_http_request_seconds_bucket", labels: { method: "GET" } }]);
    expect(selectors("absent(parley_workers_live)")).toEqual([{ metric: "parley_workers_live", labels: {} }]);
    expect(selectors('sum(rate(a_total{status="failed"}[5m])) / on (instance) b offset 5m')).toEqual([
      { metric: "a_total", labels: { status: "failed" } }, { metric: "b", labels: {} },
    ]);
  });
});
