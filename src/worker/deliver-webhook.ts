// The deliver_webhook task: one attempt of one delivery. It reads what to
// send (nothing when the delivery is gone, finished or not yet due), POSTs it
// outside any transaction, then records the attempt, which also schedules the
// next one or finishes the delivery (sql/record_webhook_attempt.sql).
//
// At least once: a worker that dies between the POST and the record sends
// again when the job is retried, with the same Parley-Delivery-Id.
import type { Task } from "graphile-worker";
import { z } from "zod";
import type { Config } from "../config.js";
import type { Db } from "../db/pool.js";
import type { WebhookDeliveryStatus } from "../domain.js";
import type { Logger } from "../log.js";
import { sendWebhook } from "../webhooks/deliver.js";
import { webhookEventSchema } from "../webhooks/payloads.js";
import { deliveryToSend, recordAttempt } from "../webhooks/store.js";

const deliverPayload = z.object({ delivery_id: z.uuid() });

/** What became of one attempt, as record_webhook_attempt left the delivery. */
export const WEBHOOK_OUTCOMES = ["delivered", "retry_scheduled", "failed", "already_done"] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

/** What each outcome means, where the name does not say it all (the metric's help is built from it). */
export const WEBHOOK_OUTCOME_MEANINGS = {
  delivered: "",
  retry_scheduled: "",
  failed: "no wait left, or not retryable",
  already_done: "the delivery removed, or the attempt recorded by another run, while it was sent",
} as const satisfies Record<WebhookOutcome, string>;

export function webhookOutcome(status: WebhookDeliveryStatus | null): WebhookOutcome {
  if (status === null) return "already_done";
  if (status === "DELIVERED") return "delivered";
  return status === "FAILED" ? "failed" : "retry_scheduled";
}

export interface DeliverWebhookContext {
  db: Db;
  log: Logger;
  settings: Config["webhooks"];
  /** Called after each attempt is recorded, with its outcome and the HTTP attempt's time, for metrics. */
  onAttempt?: ((outcome: WebhookOutcome, seconds: number) => void) | undefined;
}

export function deliverWebhookTask(context: DeliverWebhookContext): Task {
  const { db, settings } = context;
  return async (payload) => {
    const { delivery_id: deliveryId } = deliverPayload.parse(payload);
    const delivery = await deliveryToSend(db, deliveryId);
    if (!delivery) {
      context.log.debug({ delivery_id: deliveryId }, "webhook delivery gone, finished or not due; nothing to send");
      return;
    }
    const log = context.log.child({
      delivery_id: deliveryId, webhook_id: delivery.webhook_id, event_id: delivery.event_id, attempt: delivery.attempt,
    });
    // The stored payload in the documented key order.
    const body = JSON.stringify(webhookEventSchema.parse(delivery.payload));
    const attemptedAt = new Date();
    const clock = performance.now();
    const outcome = await sendWebhook(
      { url: delivery.url, secret: delivery.secret, deliveryId, body },
      { timeoutMs: settings.timeoutMs, allowPrivate: settings.allowPrivate },
    );
    const elapsedMs = performance.now() - clock;
    const durationMs = Math.round(elapsedMs);
    const status = await recordAttempt(db, {
      deliveryId,
      attempt: delivery.attempt,
      attemptedAt,
      durationMs,
      httpStatus: outcome.httpStatus,
      errorCode: outcome.ok ? null : outcome.errorCode,
      errorDetails: outcome.ok ? null : outcome.errorDetails,
      retryable: !outcome.ok && outcome.retryable,
      retryScheduleSeconds: settings.retryScheduleSeconds,
    });
    const result = webhookOutcome(status);
    context.onAttempt?.(result, elapsedMs / 1000);
    const fields = { http_status: outcome.httpStatus, duration_ms: durationMs, status, ...(outcome.ok ? {} : { error_code: outcome.errorCode, error_details: outcome.errorDetails }) };
    if (result === "already_done") log.info(fields, "webhook delivery was removed, or this attempt recorded by another run, while it was being sent");
    else if (result === "delivered") log.info(fields, "webhook delivered");
    else if (result === "failed") log.warn(fields, "webhook delivery failed; no attempt left");
    else log.info(fields, "webhook attempt failed; retry scheduled");
  };
}
