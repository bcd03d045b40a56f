// The webhook tables through Parley's SQL functions: subscriptions (the
// contract's add_webhook / remove_webhook) and the delivery task's two steps.
import { sql } from "kysely";
import type { Db } from "../db/pool.js";
import type { WebhookDeliveryStatus } from "../domain.js";
import { call, type SqlTarget } from "../ingest/client.js";
import type { AddWebhookPayload, Webhook } from "./payloads.js";

/** parley.add_webhook: returns the webhook id (a decimal string). */
export function addWebhook(target: SqlTarget, payload: AddWebhookPayload): Promise<string> {
  return payload.events === undefined
    ? call(target, "select parley.add_webhook($1, $2)::text as result", [payload.url, payload.secret])
    : call(target, "select parley.add_webhook($1, $2, $3::text[])::text as result", [payload.url, payload.secret, payload.events]);
}

/** parley.remove_webhook: false when there was no such webhook. */
export function removeWebhook(target: SqlTarget, webhookId: string): Promise<boolean> {
  return call(target, "select parley.remove_webhook($1::bigint) as result", [webhookId]);
}

// The columns anyone may see: the secret is not one (and parley_reader cannot read it).
const VISIBLE = ["webhook_id", "url", "events", "created_at"] as const;

export async function listWebhooks(db: Db, webhookId?: string): Promise<Webhook[]> {
  let query = db.selectFrom("parley.webhooks").select(VISIBLE).orderBy("webhook_id");
  if (webhookId !== undefined) query = query.where("webhook_id", "=", webhookId);
  const rows = await query.execute();
  return rows.map((row) => ({ ...row, created_at: row.created_at.toISOString() }));
}

export interface DeliveryToSend {
  webhook_id: string;
  event_id: string;
  url: string;
  secret: string;
  payload: unknown;
  attempt: number;
}

/** parley.webhook_delivery_to_send: undefined when there is nothing to send (gone, finished or not yet due). */
export async function deliveryToSend(db: Db, deliveryId: string): Promise<DeliveryToSend | undefined> {
  const { rows } = await sql<DeliveryToSend>`
    select webhook_id::text, event_id::text, url, secret, payload, attempt
    from parley.webhook_delivery_to_send(${deliveryId}::uuid)`.execute(db);
  return rows[0];
}

export interface AttemptRecord {
  deliveryId: string;
  /** The number webhook_delivery_to_send gave: only that attempt is recorded. */
  attempt: number;
  attemptedAt: Date;
  durationMs: number;
  httpStatus: number | null;
  errorCode: string | null;
  errorDetails: string | null;
  retryable: boolean;
  retryScheduleSeconds: readonly number[];
}

/** parley.record_webhook_attempt: the delivery's status afterwards, or null when that attempt is not waiting any more. */
export async function recordAttempt(db: Db, attempt: AttemptRecord): Promise<WebhookDeliveryStatus | null> {
  const { rows } = await sql<{ status: WebhookDeliveryStatus | null }>`
    select parley.record_webhook_attempt(
      ${attempt.deliveryId}::uuid, ${attempt.attempt}::integer, ${attempt.attemptedAt}::timestamptz, ${attempt.durationMs}::integer,
      ${attempt.httpStatus}::integer, ${attempt.errorCode}::text, ${attempt.errorDetails}::text,
      ${attempt.retryable}::boolean, ${[...attempt.retryScheduleSeconds]}::integer[]) as status`.execute(db);
  return rows[0]?.status ?? null;
}
