// Webhooks end to end: the real worker processes conversations and delivers
// to a real HTTP server started here. Each test subscribes its own receiver
// and removes it afterwards.
import { describe, expect, onTestFinished } from "vitest";
import { sql } from "kysely";
import { it, type StartWorker, type TestDatabase } from "../support/worker.js";
import { conversationPayload, endConversation, uniqueId, waitFor, waitForStatus } from "../support/fixtures.js";
import { capturingLogger } from "../http/support.js";
import { startReceiver, type Receiver } from "../webhooks/receiver.js";
import { readConversation } from "../../src/http/queries.js";
import { verifySignature } from "../../src/webhooks/signature.js";
import { addWebhook, removeWebhook } from "../../src/webhooks/store.js";

const SECRET = "worker-test-secret-5f1c9a7e";
const logs = capturingLogger();
/** The webhook of the running test (subscribe). */
let webhookId: string | undefined;

const FAST_RETRIES = { PARLEY_WEBHOOK_ALLOW_PRIVATE: "true", PARLEY_WEBHOOK_RETRY_SCHEDULE: "1s,1s", PARLEY_WEBHOOK_TIMEOUT_MS: "500" };

function start(startWorker: StartWorker, env: Record<string, string> = FAST_RETRIES, pollInterval = 100) {
  return startWorker({ env, pollInterval, log: logs.log });
}

/** A receiver subscribed for this test; both go when the test is over, after its worker stopped. */
async function subscribe(database: TestDatabase, events?: Array<"PROCESSED" | "FAILED">): Promise<Receiver> {
  const receiver = await startReceiver();
  const id = await addWebhook(database.pool, { url: receiver.url, secret: SECRET, ...(events ? { events } : {}) });
  webhookId = id;
  // onTestFinished runs after the fixtures' cleanup: a webhook removed under a delivery in flight can deadlock with it.
  onTestFinished(async () => {
    await removeWebhook(database.pool, id);
    await receiver.close();
  });
  return receiver;
}

/** The delivery of an event to this test's webhook, with its attempts (rows of webhook_deliveries) and its state: the latest attempt's. */
async function deliveryOf(database: TestDatabase, eventId: string) {
  const message = await database.db.selectFrom("parley.webhook_messages").selectAll()
    .where("event_id", "=", eventId).where("webhook_id", "=", webhookId!).executeTakeFirst();
  if (!message) return undefined;
  const attempts = await attemptsOf(database, message.delivery_id);
  return { ...message, attempts, latest: attempts.at(-1)! };
}

async function finishedDelivery(database: TestDatabase, eventId: string, timeoutMs = 15_000) {
  return waitFor(async () => {
    const delivery = await deliveryOf(database, eventId);
    return delivery && delivery.latest.status !== "PENDING" ? delivery : undefined;
  }, timeoutMs, 50);
}

function attemptsOf(database: TestDatabase, deliveryId: string) {
  return database.db.selectFrom("parley.webhook_deliveries")
    .select(["attempt", "status", "http_status", "error_code", "error_details", "scheduled_at", "attempted_at", "duration_ms"])
    .where("delivery_id", "=", deliveryId).orderBy("attempt").execute();
}

describe("webhook deliveries", () => {
  it("delivered: a PROCESSED event is POSTed once, signed, with the contract's fields and the event's results", async ({ database, startWorker }) => {
    // With an hour between polls only a notification can wake the worker:
    // the delivery job is picked up as it commits with the event.
    await start(startWorker, FAST_RETRIES, 3_600_000);
    const hook = await subscribe(database);
    const payload = conversationPayload({ profile_id: uniqueId("user") });
    const eventId = await endConversation(database.pool, payload);
    const event = await waitForStatus(database.db, eventId, "PROCESSED");
    const delivery = await finishedDelivery(database, eventId);

    expect(delivery.attempts).toMatchObject([{ attempt: 1, status: "DELIVERED", http_status: 200, error_code: null }]);
    expect(hook.requests).toHaveLength(1);
    const [request] = hook.requests;
    expect(request!.headers["parley-delivery-id"]).toBe(delivery.delivery_id);
    expect(request!.headers["content-type"]).toBe("application/json");
    expect(verifySignature(request!.headers["parley-signature"] as string, request!.body, SECRET)).toBe(true);

    const body = JSON.parse(request!.body) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(["type", "event_id", "conversation_id", "profile_id", "status", "results", "error"]);
    const detail = await readConversation(database.db, payload.conversation_id);
    expect(body).toEqual({
      type: "conversation.processed",
      event_id: eventId,
      conversation_id: payload.conversation_id,
      profile_id: payload.profile_id,
      status: "PROCESSED",
      results: detail.event!.results,
      error: null,
    });
    // The attempt was due from the finishing transaction on, started after the event was PROCESSED, and was recorded.
    const [attempt] = delivery.attempts;
    expect(attempt!.scheduled_at.getTime()).toBeLessThanOrEqual(event.processed_at!.getTime());
    expect(attempt!.attempted_at!.getTime()).toBeGreaterThanOrEqual(event.processed_at!.getTime() - 5);
    expect(attempt!.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it("retried after 500s, with the same Parley-Delivery-Id and a fresh signature each time, then DELIVERED", async ({ database, startWorker }) => {
    await start(startWorker);
    const hook = await subscribe(database);
    hook.script([500, 503], 200);
    const eventId = await endConversation(database.pool, conversationPayload());
    const delivery = await finishedDelivery(database, eventId);

    expect(hook.requests.map((request) => request.headers["parley-delivery-id"])).toEqual(Array(3).fill(delivery.delivery_id));
    expect(new Set(hook.requests.map((request) => request.body)).size).toBe(1);
    for (const request of hook.requests) expect(verifySignature(request.headers["parley-signature"] as string, request.body, SECRET)).toBe(true);
    expect(delivery.attempts.map((a) => [a.attempt, a.status, a.http_status, a.error_code])).toEqual([
      [1, "FAILED", 500, "http_error"], [2, "FAILED", 503, "http_error"], [3, "DELIVERED", 200, null],
    ]);
    // Each retry was scheduled a second after the attempt before it was recorded.
    for (const [before, retry] of [[0, 1], [1, 2]] as const) {
      expect(delivery.attempts[retry]!.scheduled_at.getTime() - delivery.attempts[before]!.attempted_at!.getTime()).toBeGreaterThanOrEqual(1000);
    }
    // PARLEY_WEBHOOK_RETRY_SCHEDULE=1s,1s: each retry waits its second.
    expect(hook.requests[1]!.at - hook.requests[0]!.at).toBeGreaterThanOrEqual(950);
    expect(hook.requests[2]!.at - hook.requests[1]!.at).toBeGreaterThanOrEqual(950);
  });

  it("retried after a timeout", async ({ database, startWorker }) => {
    await start(startWorker);
    const hook = await subscribe(database);
    hook.script(["hang"], 200);
    const eventId = await endConversation(database.pool, conversationPayload());
    const delivery = await finishedDelivery(database, eventId);

    expect(delivery.attempts.map((a) => [a.status, a.http_status, a.error_code])).toEqual([["FAILED", null, "timeout"], ["DELIVERED", 200, null]]);
    expect(delivery.attempts[0]!.duration_ms).toBeGreaterThanOrEqual(450);
    expect(hook.requests).toHaveLength(2);
  });

  it("given up after the schedule: a receiver that keeps failing gets 1 + 2 attempts, then the delivery is FAILED", async ({ database, startWorker }) => {
    await start(startWorker);
    const hook = await subscribe(database);
    hook.script([], 500);
    const eventId = await endConversation(database.pool, conversationPayload());
    const delivery = await finishedDelivery(database, eventId);

    expect(delivery.attempts.map((a) => [a.attempt, a.status, a.http_status, a.error_code, a.error_details])).toEqual([
      [1, "FAILED", 500, "http_error", "HTTP 500"], [2, "FAILED", 500, "http_error", "HTTP 500"], [3, "FAILED", 500, "http_error", "HTTP 500"],
    ]);
    // Nothing is tried after that.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(hook.requests).toHaveLength(3);
    expect(await attemptsOf(database, delivery.delivery_id)).toHaveLength(3);
  });

  it("a failed event is delivered as conversation.failed to a webhook that wants failures only", async ({ database, startWorker }) => {
    await start(startWorker);
    const hook = await subscribe(database, ["FAILED"]);
    const processed = await endConversation(database.pool, conversationPayload());
    // Closed with no message: empty_conversation, an error retrying cannot fix.
    const { rows: [started] } = await database.pool.query<{ id: string }>("select parley.start_conversation($1) as id",
      [JSON.stringify({ profile_id: uniqueId("user"), bot_type: "TALK", bot_id: "talk_music_taste" })]);
    const { rows: [closed] } = await database.pool.query<{ id: string }>("select parley.close_conversation($1) as id", [started!.id]);
    const failed = closed!.id;
    await waitForStatus(database.db, processed, "PROCESSED");
    const event = await waitForStatus(database.db, failed, "FAILED");
    await finishedDelivery(database, failed);

    expect(await deliveryOf(database, processed)).toBeUndefined();
    expect(hook.requests.map((request) => JSON.parse(request.body))).toEqual([expect.objectContaining({
      type: "conversation.failed", event_id: failed, status: "FAILED", results: null,
      error: { code: event.error_code, details: event.error_details },
    })]);
  });

  it("a private address is refused: no request, the delivery FAILED with address_refused", async ({ database, startWorker }) => {
    await start(startWorker, { PARLEY_WEBHOOK_RETRY_SCHEDULE: "1s,1s" });
    const hook = await subscribe(database);
    const eventId = await endConversation(database.pool, conversationPayload());
    const delivery = await finishedDelivery(database, eventId);

    expect(delivery.attempts).toMatchObject([{
      attempt: 1, status: "FAILED", http_status: null, error_code: "address_refused",
      error_details: "127.0.0.1, a loopback address; set PARLEY_WEBHOOK_ALLOW_PRIVATE=true to allow non-public receivers",
    }]);
    expect(hook.requests).toEqual([]);
  });

  it("nothing delivered for a forgotten user's events", async ({ database, startWorker }) => {
    const hook = await subscribe(database);
    const forgotten = uniqueId("forgotten");
    const kept = uniqueId("kept");
    const forgottenEvents = [
      await endConversation(database.pool, conversationPayload({ profile_id: forgotten })),
      await endConversation(database.pool, conversationPayload({ profile_id: forgotten })),
    ];
    const keptEvent = await endConversation(database.pool, conversationPayload({ profile_id: kept }));
    // Finished while no worker runs: their deliveries and jobs are queued...
    await database.pool.query(`update parley.conversation_events set status = 'PROCESSED', processed_at = now()
      where event_id = any($1)`, [[...forgottenEvents, keptEvent]]);
    const queued = await database.db.selectFrom("parley.webhook_messages").select("delivery_id").where("webhook_id", "=", webhookId!).execute();
    expect(queued).toHaveLength(3);
    // ...then the user is forgotten before any is sent.
    await database.pool.query("select parley.forget_user($1)", [forgotten]);

    await start(startWorker);
    await finishedDelivery(database, keptEvent);
    // The forgotten user's delivery jobs ran too, and found nothing to send.
    await waitFor(async () => {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from graphile_worker.jobs
        where task_identifier = 'deliver_webhook'`.execute(database.db);
      return rows[0]!.n === 0;
    });
    expect(hook.requests.map((request) => JSON.parse(request.body).profile_id)).toEqual([kept]);
    const left = await database.db.selectFrom("parley.webhook_messages").select("event_id").where("webhook_id", "=", webhookId!).execute();
    expect(left.map((row) => row.event_id)).toEqual([keptEvent]);
  });

  it("a delivery whose job is gone is re-queued by the reconcile_events cron task, and delivered", async ({ database, startWorker }) => {
    const hook = await subscribe(database);
    const eventId = await endConversation(database.pool, conversationPayload());
    // Finished while no worker runs; then its delivery job is deleted by hand.
    await database.pool.query("update parley.conversation_events set status = 'PROCESSED', processed_at = now() where event_id = $1", [eventId]);
    const { rows: [removed] } = await database.pool.query<{ id: string }>(`
      select graphile_worker.remove_job('parley:webhook_delivery:' || m.delivery_id)::text as id
      from parley.webhook_messages m where m.event_id = $1`, [eventId]);
    expect(removed!.id).not.toBeNull();

    // Stranded: due, PENDING, and no job that would ever send it.
    const { rows: [jobs] } = await database.pool.query<{ n: number }>(`
      select count(*)::int as n from graphile_worker.jobs j join parley.webhook_messages m on j.key = 'parley:webhook_delivery:' || m.delivery_id
      where m.event_id = $1`, [eventId]);
    expect(jobs!.n).toBe(0);
    await start(startWorker);
    // What the cron entry does every minute (it may also run on its own, at a minute's turn).
    await database.pool.query("select graphile_worker.add_job('reconcile_events')");
    const delivery = await finishedDelivery(database, eventId);
    expect(delivery.attempts).toMatchObject([{ attempt: 1, status: "DELIVERED" }]);
    expect(hook.requests.map((request) => JSON.parse(request.body).event_id)).toEqual([eventId]);
    expect(logs.lines.some((line) => line.includes("re-queued webhook deliveries that had no live job"))).toBe(true);
  });

  it("a hanging receiver holds only the webhook pool's slots: conversations keep being processed meanwhile", async ({ database, startWorker }) => {
    const worker = await start(startWorker, { ...FAST_RETRIES, PARLEY_CONCURRENCY: "1", PARLEY_WEBHOOK_CONCURRENCY: "1", PARLEY_WEBHOOK_TIMEOUT_MS: "30000", PARLEY_WORKER_STALE_AFTER: "6" });
    const hook = await subscribe(database, ["PROCESSED"]);
    hook.script([], "hang");
    const first = await endConversation(database.pool, conversationPayload());
    await waitForStatus(database.db, first, "PROCESSED");
    await waitFor(async () => hook.requests.length === 1);

    // The one delivery slot waits for an answer that does not come; the one processing slot is free.
    const later = [await endConversation(database.pool, conversationPayload()), await endConversation(database.pool, conversationPayload())];
    for (const eventId of later) await waitForStatus(database.db, eventId, "PROCESSED", 5000);
    expect(hook.requests).toHaveLength(1);
    // The delivery job on the wire is held by this process's webhook pool, which its heartbeat names
    // (from its first beat after the pools started), so the crash sweep leaves it alone.
    const workerId = await worker.workerId;
    const held = await waitFor(async () => (await sql<{ locked_by: string; pool_id: string; webhook_pool_id: string }>`
      select j.locked_by, h.pool_id, h.webhook_pool_id from graphile_worker.jobs j, parley.worker_heartbeats h
      where j.task_identifier = 'deliver_webhook' and j.locked_by is not null and h.worker_id = ${workerId}
        and h.webhook_pool_id is not null`.execute(database.db)).rows[0]);
    expect(held.locked_by).toBe(held.webhook_pool_id);
    expect(held.pool_id).not.toBe(held.webhook_pool_id);
    await hook.close(); // the hanging request fails: connection_failed, retried later
  });

  it("PARLEY_WEBHOOK_CONCURRENCY bounds the deliveries on the wire at once", async ({ database, startWorker }) => {
    await start(startWorker, { ...FAST_RETRIES, PARLEY_WEBHOOK_CONCURRENCY: "2", PARLEY_WEBHOOK_TIMEOUT_MS: "30000" });
    const hook = await subscribe(database, ["PROCESSED"]);
    hook.script([], "hang");
    const events = [];
    for (let i = 0; i < 3; i++) events.push(await endConversation(database.pool, conversationPayload()));
    for (const eventId of events) await waitForStatus(database.db, eventId, "PROCESSED");
    await waitFor(async () => hook.requests.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(hook.requests).toHaveLength(2);
    await hook.close();
  });

  it("no secret in any log line of these tests", () => {
    expect(logs.lines.length).toBeGreaterThan(20);
    expect(logs.lines.some((line) => line.includes("webhook delivered"))).toBe(true);
    expect(logs.lines.filter((line) => line.includes(SECRET))).toEqual([]);
  });
});
