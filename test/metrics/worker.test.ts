// /metrics counts what happened: real worker, real PostgreSQL, the hashing embedder.
import { describe, expect } from "vitest";
import { it } from "../support/worker.js";
import { conversationPayload, endConversation, uniqueId, waitFor, waitForStatus } from "../support/fixtures.js";
import { createMetrics, QUEUE_COUNTS_SQL } from "../../src/metrics/registry.js";
import { startMetricsServer } from "../../src/metrics/server.js";
import { HashingEmbedder } from "../../src/embed/hashing.js";
import { EmbeddingError, type Embedder } from "../../src/embed/embedder.js";
import { value } from "./support.js";



/** The hashing embedder, except that a text containing "POISON" fails for good. */
class PoisonableEmbedder implements Embedder {
  private readonly inner = new HashingEmbedder();
  readonly model = this.inner.model;
  readonly dimension = this.inner.dimension;
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.some((text) => text.includes("POISON"))) throw new EmbeddingError("poisoned text", { retryable: false });
    return this.inner.embed(texts);
  }
}

describe("metrics from a running worker", () => {
  it("/metrics counts what happened: outcomes, handler and end-to-end time, embeddings, cache, queue gauges", async ({ database, startWorker }) => {
    const metrics = createMetrics({ pool: database.pool, workerStaleAfterSeconds: 30, defaultMetrics: false });
    const r = metrics.registry;
    const worker = await startWorker({ metrics, embedder: new PoisonableEmbedder() });

    // Two conversations with the same messages: the second one's texts come from the cache.
    const first = await endConversation(database.pool, conversationPayload({ profile_id: uniqueId("user") }));
    await waitForStatus(database.db, first, "PROCESSED");
    const second = await endConversation(database.pool, conversationPayload({ profile_id: uniqueId("user") }));
    await waitForStatus(database.db, second, "PROCESSED");
    const poisoned = await endConversation(database.pool, conversationPayload({
      conversation_log: [{ role: "user", content: "POISON pill" }],
    }));
    await waitForStatus(database.db, poisoned, "FAILED");

    expect(await value(r, "parley_events_processed_total", { status: "processed" })).toBe(2);
    expect(await value(r, "parley_events_processed_total", { status: "failed" })).toBe(1);
    expect(await value(r, "parley_events_processed_total", { status: "retry_scheduled" })).toBe(0);
    expect(await value(r, "parley_event_processing_seconds_count")).toBe(3);
    expect(await value(r, "parley_event_processing_seconds_sum")).toBeGreaterThan(0);
    expect(await value(r, "parley_event_end_to_end_seconds_count")).toBe(2);
    expect(await value(r, "parley_event_end_to_end_seconds_bucket", { le: "+Inf" })).toBe(2);

    // Provider calls: topic prototypes, the first conversation, the poisoned one (failed).
    expect(await value(r, "parley_embedding_seconds_count", { model: "hashing-1024" })).toBe(3);
    const misses = await value(r, "parley_embedding_cache_misses_total");
    const hits = await value(r, "parley_embedding_cache_hits_total");
    expect(misses).toBe(worker.embedder.stats().misses);
    expect(hits).toBe(worker.embedder.stats().hits);
    // The second conversation's 4 messages were all cached.
    expect(hits).toBeGreaterThanOrEqual(4);

    expect(await value(r, "parley_events_pending")).toBe(0);
    expect(await value(r, "parley_oldest_pending_seconds")).toBe(0);
    expect(await value(r, "parley_events_failed")).toBe(1);
    expect(await value(r, "parley_database_up")).toBe(1);
    expect(await value(r, "parley_workers_live")).toBeGreaterThanOrEqual(1);
  });

  it("parley_reconciler_requeued_total counts the events the reconciler queued again", async ({ database, startWorker }) => {
    const metrics = createMetrics({ pool: database.pool, workerStaleAfterSeconds: 30, defaultMetrics: false });
    const r = metrics.registry;
    await startWorker({ metrics, embedder: new PoisonableEmbedder() });
    // A row written without end_conversation has no job: only the reconciler finds it.
    const conversationId = uniqueId("conv_plain");
    await database.pool.query(`insert into parley.conversations (conversation_id, profile_id, bot_type, bot_id, started_at, ended_at, is_active, message_count)
      values ($1, 'user_plain', 'TALK', 'talk_music_taste', now() - interval '5 minutes', now(), false, 1)`, [conversationId]);
    await database.pool.query("insert into parley.messages (conversation_id, seq, role, content) values ($1, 1, 'user', 'I love jazz')", [conversationId]);
    const { rows } = await database.pool.query<{ event_id: string }>(
      "insert into parley.conversation_events (conversation_id, profile_id, created_at) values ($1, 'user_plain', now() - interval '5 minutes') returning event_id",
      [conversationId]);
    expect(await value(r, "parley_events_pending")).toBe(1);
    expect(await value(r, "parley_oldest_pending_seconds")).toBeGreaterThanOrEqual(300);
    expect(await value(r, "parley_oldest_pending_seconds")).toBeLessThan(330);
    await database.pool.query("select graphile_worker.add_job('reconcile_events')");
    await waitForStatus(database.db, rows[0]!.event_id, "PROCESSED");
    await waitFor(async () => (await value(r, "parley_reconciler_requeued_total")) === 1);
    expect(await value(r, "parley_events_processed_total", { status: "processed" })).toBe(1);
  });

  it("a retryable embedding failure counts as retry_scheduled", async ({ database, startWorker }) => {
    const metrics = createMetrics({ defaultMetrics: false });
    const down: Embedder = { model: "down-8", dimension: 8, embed: async () => { throw new EmbeddingError("provider down", { retryable: true }); } };
    await startWorker({ metrics, embedder: down });
    const eventId = await endConversation(database.pool, conversationPayload());
    await waitFor(async () => (await database.db.selectFrom("parley.conversation_events").select("error_code")
      .where("event_id", "=", eventId).executeTakeFirstOrThrow()).error_code === "embedding_failed");
    await waitFor(async () => (await value(metrics.registry, "parley_events_processed_total", { status: "retry_scheduled" })) === 1);
    expect(await value(metrics.registry, "parley_embedding_seconds_count", { model: "down-8" })).toBeGreaterThanOrEqual(1);
  });

  it("the worker's /metrics server answers over HTTP with the registry's text, and 404 elsewhere", async ({ database }) => {
    const metrics = createMetrics({ pool: database.pool, workerStaleAfterSeconds: 30, defaultMetrics: false });
    metrics.recordOutcome("processed", 0.1, 0.2);
    const server = await startMetricsServer({ registry: metrics.registry, port: 0, host: "127.0.0.1" });
    try {
      const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toContain("text/plain");
      const text = await response.text();
      expect(text).toContain('parley_events_processed_total{status="processed"} 1');
      expect(text).toMatch(/^parley_events_pending \d+$/m);
      const other = await fetch(`http://127.0.0.1:${server.port}/`);
      expect(other.status).toBe(404);
      expect(await other.json()).toMatchObject({ code: "not_found" });
    } finally {
      await server.close();
    }
  });

  it("the queue counts, read from parley.pipeline_stats, are answered from the partial indexes alone", async ({ database }) => {
    const client = await database.pool.connect();
    try {
      await client.query("begin");
      await client.query("set local enable_seqscan = off");
      const { rows } = await client.query<{ "QUERY PLAN": string }>(`explain ${QUEUE_COUNTS_SQL.replace("$1", "30")}`);
      const plan = rows.map((row) => row["QUERY PLAN"]).join("\n");
      expect(plan).toContain("conversation_events_unfinished");
      expect(plan).toContain("conversation_events_failed");
      expect(plan).toContain("webhook_deliveries_pending");
      // Read from parley.pipeline_stats, whose PROCESSED count and latency are not computed.
      expect(plan).not.toContain("conversation_events_processed_recent");
      await client.query("rollback");
    } finally {
      client.release();
    }
  });
});
