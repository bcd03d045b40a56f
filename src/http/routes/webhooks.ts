// Webhook subscriptions over HTTP: parley.add_webhook, a listing without
// secrets, parley.remove_webhook. Deliveries themselves are the worker's
// (src/worker/deliver-webhook.ts).
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { eventIdSchema } from "../../ingest/payloads.js";
import { ParleyError } from "../../ingest/errors.js";
import { AddressRefusedError, checkedAddresses } from "../../webhooks/deliver.js";
import { addWebhookSchema, webhookSchema } from "../../webhooks/payloads.js";
import { addWebhook, listWebhooks, removeWebhook } from "../../webhooks/store.js";
import { errorResponses } from "../route-schemas.js";
import { bindLog, type RouteContext } from "./context.js";

// A registration waits this long for DNS at most; the worker checks again at every delivery anyway.
const REGISTRATION_DNS_WAIT_MS = 2000;

const webhookParams = z.strictObject({ webhook_id: eventIdSchema.meta({ example: "1" }) });
const webhookListSchema = z.object({ webhooks: z.array(webhookSchema) }).meta({ id: "WebhookList" });
const removedSchema = z.object({ webhook_id: z.string(), removed: z.literal(true) }).meta({ id: "RemovedWebhook" });

export const webhookRoutes: FastifyPluginAsyncZod<RouteContext> = async (app, { pool, db, config }) => {
  app.post("/v1/webhooks", {
    schema: {
      tags: ["webhooks"],
      summary: "Subscribe a URL to finished events (parley.add_webhook)",
      description: [
        "Each event that becomes PROCESSED or FAILED (as `events` selects) is POSTed to the URL as a WebhookEvent,",
        "signed with the secret in Parley-Signature. The secret is never returned. A URL whose host is or resolves",
        "to a loopback, private or link-local address is refused unless PARLEY_WEBHOOK_ALLOW_PRIVATE=true.",
      ].join(" "),
      body: addWebhookSchema,
      response: { 201: webhookSchema, ...errorResponses(400, 401, 413, 415, 503) },
    },
  }, async (request, reply) => {
    if (!config.webhooks.allowPrivate) await refuseNonPublicHost(request.body.url);
    const webhookId = await addWebhook(pool, request.body);
    bindLog(request, { webhook_id: webhookId });
    const [webhook] = await listWebhooks(db, webhookId);
    return reply.code(201).send(webhook!);
  });

  app.get("/v1/webhooks", {
    schema: {
      tags: ["webhooks"],
      summary: "Every webhook subscription, without its secret",
      response: { 200: webhookListSchema, ...errorResponses(401, 503) },
    },
  }, async (_request, reply) => {
    return reply.code(200).send({ webhooks: await listWebhooks(db) });
  });

  app.delete("/v1/webhooks/:webhook_id", {
    schema: {
      tags: ["webhooks"],
      summary: "Unsubscribe (parley.remove_webhook)",
      description: "Its deliveries are deleted with it, pending ones included: nothing more is sent to its URL.",
      params: webhookParams,
      response: { 200: removedSchema, ...errorResponses(400, 401, 404, 503) },
    },
  }, async (request, reply) => {
    const { webhook_id: webhookId } = request.params;
    if (!(await removeWebhook(pool, webhookId))) {
      throw new ParleyError("webhook_not_found", `no webhook ${webhookId}`, "webhook_id");
    }
    return reply.code(200).send({ webhook_id: webhookId, removed: true });
  });
};

/**
 * Refuses now what every delivery would refuse: a host that is, or resolves
 * to, a non-public address. A name that does not resolve (yet) is accepted.
 */
async function refuseNonPublicHost(url: string): Promise<void> {
  let hostname: string;
  try {
    hostname = new URL(url).hostname;
  } catch {
    return; // parley.add_webhook says what is wrong with it
  }
  const gaveUp = new AbortController();
  try {
    await Promise.race([
      checkedAddresses(hostname, { allowPrivate: false }),
      sleep(REGISTRATION_DNS_WAIT_MS, undefined, { signal: gaveUp.signal }),
    ]);
  } catch (error) {
    if (error instanceof AddressRefusedError) throw new ParleyError("invalid_payload", `url: ${error.message}`, "url");
  } finally {
    gaveUp.abort();
  }
}
