import { describe, expect, it } from "vitest";
import { createMetrics } from "../../src/metrics/registry.js";
import { HashingEmbedder } from "../../src/embed/hashing.js";
import { EmbeddingError, type Embedder } from "../../src/embed/embedder.js";
import { createPool } from "../../src/db/pool.js";
import { unusedPort } from "../support/fixtures.js";
import { value } from "./support.js";
import { readFileSync } from "node:fs";
import { tablesIn } from "../support/readme.js";
import { OUTCOMES } from "../../src/worker/process-batch.js";
import { WEBHOOK_OUTCOMES } from "../../src/worker/deliver-webhook.js";

describe("createMetrics", () => {
  it("exposes every documented metric, the outcome counter at zero before any event", async () => {
    const { registry } = createMetrics({ defaultMetrics: false });
    const text = await registry.metrics();
    for (const name of [
      "parley_events_processed_total", "parley_event_processing_seconds", "parley_event_end_to_end_seconds",
      "parley_reconciler_requeued_total", "parley_embedding_seconds", "parley_embedding_errors_total",
      "parley_embedding_cache_hits_total", "parley_embedding_cache_misses_total",
      "parley_webhook_deliveries_total", "parley_webhook_attempt_seconds",
    ]) expect(text).toContain(`# TYPE ${name} `);
    expect(text).toContain('parley_events_processed_total{status="processed"} 0');
    expect(text).toContain('parley_events_processed_total{status="failed"} 0');
    for (const outcome of ["delivered", "retry_scheduled", "failed", "already_done"]) {
      expect(text).toContain(`parley_webhook_deliveries_total{outcome="${outcome}"} 0`);
    }
    // No pool: no queue gauges rather than wrong ones.
    expect(text).not.toContain("parley_events_pending");
  });

  it("README's metrics table names every outcome each outcome counter starts at zero", () => {
    const [table] = tablesIn(readFileSync("README.md", "utf8"), "### Metrics");
    const meaning = (metric: string) => table!.find((row) => row[0]!.startsWith(`\`${metric}{`))?.[2] ?? "";
    for (const status of OUTCOMES) expect(meaning("parley_events_processed_total"), status).toContain(`\`${status}\``);
    for (const outcome of WEBHOOK_OUTCOMES) expect(meaning("parley_webhook_deliveries_total"), outcome).toContain(`\`${outcome}\``);
  });

  it("includes Node's default metrics unless turned off", async () => {
    expect(await createMetrics().registry.metrics()).toContain("process_cpu_user_seconds_total");
    expect(await createMetrics({ defaultMetrics: false }).registry.metrics()).not.toContain("process_cpu_user_seconds_total");
  });

  it("recordOutcome counts each attempt by outcome and observes handler and end-to-end time", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.recordOutcome("processed", 0.02, 0.5);
    metrics.recordOutcome("processed", 0.03, 1.5);
    metrics.recordOutcome("retry_scheduled", 0.01, null);
    const r = metrics.registry;
    expect(await value(r, "parley_events_processed_total", { status: "processed" })).toBe(2);
    expect(await value(r, "parley_events_processed_total", { status: "retry_scheduled" })).toBe(1);
    expect(await value(r, "parley_event_processing_seconds_count")).toBe(3);
    expect(await value(r, "parley_event_processing_seconds_sum")).toBeCloseTo(0.06, 10);
    expect(await value(r, "parley_event_end_to_end_seconds_count")).toBe(2);
    expect(await value(r, "parley_event_end_to_end_seconds_sum")).toBeCloseTo(2, 10);
    expect(await value(r, "parley_event_end_to_end_seconds_bucket", { le: "1" })).toBe(1);
  });

  it("recordWebhookAttempt counts each webhook attempt by outcome and observes its time", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.recordWebhookAttempt("retry_scheduled", 0.5);
    metrics.recordWebhookAttempt("delivered", 0.02);
    const r = metrics.registry;
    expect(await value(r, "parley_webhook_deliveries_total", { outcome: "retry_scheduled" })).toBe(1);
    expect(await value(r, "parley_webhook_deliveries_total", { outcome: "delivered" })).toBe(1);
    expect(await value(r, "parley_webhook_deliveries_total", { outcome: "failed" })).toBe(0);
    expect(await value(r, "parley_webhook_attempt_seconds_count")).toBe(2);
    expect(await value(r, "parley_webhook_attempt_seconds_sum")).toBeCloseTo(0.52, 10);
    expect(await value(r, "parley_webhook_attempt_seconds_bucket", { le: "0.025" })).toBe(1);
  });

  it("recordRequeue adds up re-queued events", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.recordRequeue(3);
    metrics.recordRequeue(0);
    metrics.recordRequeue(2);
    expect(await value(metrics.registry, "parley_reconciler_requeued_total")).toBe(5);
  });

  it("timeEmbedder times every provider call, failed ones too, by model, and passes model and dimension through", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const timed = metrics.timeEmbedder(new HashingEmbedder());
    expect(timed.model).toBe("hashing-1024");
    expect(timed.dimension).toBe(1024);
    // The worker skips the cache table for a cheap embedder; wrapping must not hide that.
    expect(timed.cheap).toBe(true);
    expect(await timed.embed(["a", "b"])).toHaveLength(2);
    const failing: Embedder = { model: "down-2", dimension: 2, embed: async () => { throw new EmbeddingError("down", { retryable: true }); } };
    await expect(metrics.timeEmbedder(failing).embed(["x"])).rejects.toThrow("down");
    expect(await value(metrics.registry, "parley_embedding_seconds_count", { model: "hashing-1024" })).toBe(1);
    expect(await value(metrics.registry, "parley_embedding_seconds_count", { model: "down-2" })).toBe(1);
    // Errors by model, present at zero from the wrapping on, so that rate() sees a series.
    expect(await value(metrics.registry, "parley_embedding_errors_total", { model: "hashing-1024" })).toBe(0);
    expect(await value(metrics.registry, "parley_embedding_errors_total", { model: "down-2" })).toBe(1);
  });

  it("the cache counters follow the cache's own counts across scrapes, and never go down", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const counts = { hits: 4, misses: 1 };
    metrics.trackEmbeddingCache({ stats: () => ({ ...counts }) });
    expect(await value(metrics.registry, "parley_embedding_cache_hits_total")).toBe(4);
    expect(await value(metrics.registry, "parley_embedding_cache_misses_total")).toBe(1);
    counts.hits = 10;
    counts.misses = 3;
    expect(await value(metrics.registry, "parley_embedding_cache_hits_total")).toBe(10);
    expect(await value(metrics.registry, "parley_embedding_cache_misses_total")).toBe(3);
  });

  it("a scrape with the database unreachable still answers: queue gauges NaN, parley_database_up 0", async () => {
    const pool = createPool(`postgres://postgres@127.0.0.1:${await unusedPort()}/postgres`, 1);
    try {
      const metrics = createMetrics({ pool, workerStaleAfterSeconds: 30, defaultMetrics: false, queryTimeoutMs: 2000 });
      metrics.recordOutcome("processed", 0.01, 0.1);
      const text = await metrics.registry.metrics();
      expect(text).toContain('parley_events_processed_total{status="processed"} 1');
      expect(text).toMatch(/^parley_events_pending nan$/im);
      expect(text).toMatch(/^parley_events_failed nan$/im);
      expect(text).toMatch(/^parley_webhook_deliveries_pending nan$/im);
      expect(text).toMatch(/^parley_database_up 0$/m);
    } finally {
      await pool.end();
    }
  });

  it("a scrape does not hang on a database that never answers", async () => {
    // A server that accepts the connection and says nothing, like a PostgreSQL behind a dead link.
    const { createServer } = await import("node:net");
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    const pool = createPool(`postgres://postgres@127.0.0.1:${port}/postgres`, 1);
    try {
      const metrics = createMetrics({ pool, workerStaleAfterSeconds: 30, defaultMetrics: false, queryTimeoutMs: 200 });
      const text = await metrics.registry.metrics();
      expect(text).toContain("parley_events_processed_total");
      expect(text).toMatch(/^parley_events_pending nan$/im);
      expect(text).toMatch(/^parley_database_up 0$/m);
    } finally {
      silent.close();
      void pool.end();
    }
  });
});
