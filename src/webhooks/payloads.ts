// Webhook shapes as zod schemas: the subscription Parley takes (HTTP API,
// TypeScript client, tests) and the event it POSTs to a receiver. SQL
// (sql/add_webhook.sql) stays the authority on what a subscription may be;
// these check shapes early and never reject what it accepts.
import { z } from "zod";
import { charLength } from "../ingest/payloads.js";
import { WEBHOOK_EVENT_KINDS } from "../domain.js";
import { eventResultsSchema } from "../event-results.js";

export const WEBHOOK_LIMITS = { urlChars: 2048, secretMinChars: 16, secretMaxChars: 256 } as const;

/** parley.add_webhook(url, secret, events). */
export const addWebhookSchema = z.strictObject({
  url: z.string()
    .regex(/^https?:\/\//i, "must be an absolute URL starting with https:// or http://")
    .refine((value) => charLength(value) <= WEBHOOK_LIMITS.urlChars, `is longer than ${WEBHOOK_LIMITS.urlChars} characters`)
    .meta({ example: "https://example.com/hooks/parley" }),
  secret: z.string()
    .refine((value) => charLength(value) >= WEBHOOK_LIMITS.secretMinChars, `must be at least ${WEBHOOK_LIMITS.secretMinChars} characters long`)
    .refine((value) => charLength(value) <= WEBHOOK_LIMITS.secretMaxChars, `must be at most ${WEBHOOK_LIMITS.secretMaxChars} characters long`)
    .meta({ description: "Signs every delivery (Parley-Signature). Stored, never returned or logged.", writeOnly: true }),
  events: z.array(z.enum(WEBHOOK_EVENT_KINDS)).min(1, `must list at least one of ${WEBHOOK_EVENT_KINDS.join(", ")}`).optional()
    .meta({ description: "The event statuses to be told about; both when absent." }),
}).meta({ id: "AddWebhook" });
export type AddWebhookPayload = z.infer<typeof addWebhookSchema>;

/** A subscription as Parley shows it: never with its secret. */
export const webhookSchema = z.object({
  webhook_id: z.string(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENT_KINDS)),
  created_at: z.string().meta({ format: "date-time" }),
}).meta({ id: "Webhook" });
export type Webhook = z.infer<typeof webhookSchema>;

/**
 * The JSON body of every delivery. Parley builds it in SQL when the event
 * finishes (sql/_queue_webhook_deliveries.sql) and sends it in this key order.
 */
export const webhookEventSchema = z.object({
  type: z.enum(["conversation.processed", "conversation.failed"]),
  event_id: z.string(),
  conversation_id: z.string(),
  profile_id: z.string(),
  status: z.enum(WEBHOOK_EVENT_KINDS),
  results: eventResultsSchema.nullable().meta({ description: "The event's results when PROCESSED, as GET /v1/conversations/:id shows them; else null." }),
  error: z.object({ code: z.string().nullable(), details: z.string().nullable() }).nullable()
    .meta({ description: "Why the event FAILED (its error_code and error_details); null when PROCESSED." }),
}).meta({ id: "WebhookEvent" });
export type WebhookEvent = z.infer<typeof webhookEventSchema>;
