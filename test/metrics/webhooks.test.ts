// /metrics counts webhook deliveries: a real worker delivering to a real receiver started here,
// and the deliveries waiting, read from parley.pipeline_stats.
import { describe, expect, onTestFinished } from "vitest";
import { it, type TestDatabase } from "../support/worker.js";
import { conversationPayload, endConversation, waitFor } from "../support/fixtures.js";
import { startReceiver, type Receiver } from "../webhooks/receiver.js";
import { createMetrics } from "../../src/metrics/registry.js";
import { addWebhook, removeWebhook } from "../../src/webhooks/store.js";
import { webhookOutcome } from "../../src/worker/deliver-webhook.js";
import { value } from "./support.js";

const SECRET = "metrics-test-secret-0b7d42c1";
/** One wait: an attempt that fails twice has failed for good. */
const ONE_RETRY = { PARLEY_WEBHOOK_ALLOW_PRIVATE: "true", PARLEY_WEBHOOK_RETRY_SCHEDULE: "1s", PARLEY_WEBHOOK_TIMEOUT_MS: "500" };

/** A webhook to `url`, removed when the test is over (after its worker stopped). */
async function subscribe(database: TestDatabase, url: string): Promise<string> {
  const id = await addWebhook(database.pool, { url, secret: SECRET });
  // onTestFinished runs after the fixtures' cleanup: a webhook removed under a delivery in flight can deadlock with it.
  onTestFinished(async () => {
    await removeWebhook(database.pool, id);
  });
  return id;
}

async function receiver(): Promise<Receiver> {
  const started = await startReceiver();
  onTestFinished(() => started.close());
  return started;
}

const deliveries = (outcome: string) => ["parley_webhook_deliveries_total", { outcome }] as const;

describe("webhook delivery metrics", () => {
  it("parley_webhook_deliveries_total counts each attempt by outcome, and parley_webhook_attempt_seconds times each one", async ({ database, startWorker }) => {
    const metrics = createMetrics({ pool: database.pool, workerStaleAfterSeconds: 30, defaultMetrics: false });
    const r = metrics.registry;
    await startWorker({ metrics, env: ONE_RETRY });
    const hook = await receiver();
    await subscribe(database, hook.url);

    // The first event's delivery: 500, a retry a second later, 500 again: failed for good.
    hook.script([500, 500], 200);
    await endConversation(database.pool, conversationPayload());
    await waitFor(async () => (await value(r, ...deliveries("failed"))) === 1, 15_000);
    expect(await value(r, ...deliveries("retry_scheduled"))).toBe(1);
    expect(await value(r, ...deliveries("delivered"))).toBe(0);

    // The second event's: 200 at once.
    await endConversation(database.pool, conversationPayload());
    await waitFor(async () => (await value(r, ...deliveries("delivered"))) === 1, 15_000);

    expect(hook.requests).toHaveLength(3);
    expect(await value(r, ...deliveries("retry_scheduled"))).toBe(1);
    expect(await value(r, ...deliveries("failed"))).toBe(1);
    expect(await value(r, ...deliveries("already_done"))).toBe(0);
    expect(await value(r, "parley_webhook_attempt_seconds_count")).toBe(3);
    expect(await value(r, "parley_webhook_attempt_seconds_sum")).toBeGreaterThan(0);
    expect(await value(r, "parley_webhook_attempt_seconds_bucket", { le: "+Inf" })).toBe(3);
    // Nothing left to send.
    await waitFor(async () => (await value(r, "parley_webhook_deliveries_pending")) === 0);
  });

  it("parley_webhook_deliveries_pending counts the deliveries whose latest attempt is PENDING", async ({ database }) => {
    const metrics = createMetrics({ pool: database.pool, workerStaleAfterSeconds: 30, defaultMetrics: false });
    const r = metrics.registry;
    expect(await value(r, "parley_webhook_deliveries_pending")).toBe(0);
    // No worker runs here: the deliveries the finishing UPDATE queues stay PENDING.
    await subscribe(database, "https://hooks.example.com/parley");
    const events = [await endConversation(database.pool, conversationPayload()), await endConversation(database.pool, conversationPayload())];
    await database.pool.query(`update parley.conversation_events set status = 'PROCESSED', processed_at = now(), total_turns = 2,
      friendship_score_change = 1, new_friendship_level = 'PHASE1_STRANGER' where event_id = any($1)`, [events]);
    await waitFor(async () => (await value(r, "parley_webhook_deliveries_pending")) === 2);

    // One delivered, one waiting for its second attempt: one pending.
    const { rows } = await database.pool.query<{ delivery_id: string }>("select delivery_id from parley.webhook_deliveries order by delivery_id");
    await database.pool.query(`update parley.webhook_deliveries set status = 'DELIVERED', http_status = 200, attempted_at = now(), duration_ms = 5
      where delivery_id = $1`, [rows[0]!.delivery_id]);
    await database.pool.query(`update parley.webhook_deliveries set status = 'FAILED', http_status = 500, error_code = 'http_error',
      error_details = 'HTTP 500', attempted_at = now(), duration_ms = 5 where delivery_id = $1`, [rows[1]!.delivery_id]);
    await database.pool.query("insert into parley.webhook_deliveries (delivery_id, attempt, scheduled_at) values ($1, 2, now() + interval '1 hour')",
      [rows[1]!.delivery_id]);
    await waitFor(async () => (await value(r, "parley_webhook_deliveries_pending")) === 1);
  });

  it("an attempt's outcome is what record_webhook_attempt left the delivery in", () => {
    expect(webhookOutcome("DELIVERED")).toBe("delivered");
    expect(webhookOutcome("PENDING")).toBe("retry_scheduled");
    expect(webhookOutcome("FAILED")).toBe("failed");
    expect(webhookOutcome(null)).toBe("already_done");
  });
});
