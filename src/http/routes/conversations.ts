// The write path over HTTP: each route calls one SQL API function
// (src/ingest/client.ts) and answers with what it returned.
import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { appendMessages, closeConversation, endConversation, startConversation } from "../../ingest/client.js";
import { endConversationSchema, startConversationSchema } from "../../ingest/payloads.js";
import { readConversation, readEventStatus } from "../queries.js";
import {
  appendedSchema, appendMessagesBody, conversationDetailSchema, conversationParams, errorResponses,
  queuedEventSchema, startedConversationSchema,
} from "../route-schemas.js";
import { bindLog, type RouteContext } from "./context.js";

export const conversationRoutes: FastifyPluginAsyncZod<RouteContext> = async (app, { pool, db }) => {
  /** The answer to a write that queued an event: its id and status; event_id goes on the request's log lines. */
  const queuedEvent = async (request: FastifyRequest, eventId: string) => {
    bindLog(request, { event_id: eventId });
    return { event_id: eventId, ...(await readEventStatus(db, eventId)) };
  };

  app.post("/v1/conversations/end", {
    schema: {
      tags: ["conversations"],
      summary: "Store a finished conversation and queue its processing (parley.end_conversation)",
      description: "Idempotent: the same conversation_id again returns the same event and writes nothing.",
      body: endConversationSchema,
      response: { 202: queuedEventSchema, ...errorResponses(400, 401, 413, 415, 503) },
    },
  }, async (request, reply) => {
    bindLog(request, { conversation_id: request.body.conversation_id });
    const eventId = await endConversation(pool, request.body);
    return reply.code(202).send(await queuedEvent(request, eventId));
  });

  app.post("/v1/conversations", {
    schema: {
      tags: ["conversations"],
      summary: "Open a live conversation (parley.start_conversation)",
      description: "conversation_id is generated when absent; starting the same one again returns it and writes nothing.",
      body: startConversationSchema,
      response: { 201: startedConversationSchema, ...errorResponses(400, 401, 413, 415, 503) },
    },
  }, async (request, reply) => {
    const conversationId = await startConversation(pool, request.body);
    bindLog(request, { conversation_id: conversationId });
    return reply.code(201).send({ conversation_id: conversationId });
  });

  app.post("/v1/conversations/:conversation_id/messages", {
    schema: {
      tags: ["conversations"],
      summary: "Append turns to a live conversation (parley.append_messages)",
      description: "A message_id per message makes a retried call idempotent.",
      params: conversationParams,
      body: appendMessagesBody,
      response: { 200: appendedSchema, ...errorResponses(400, 401, 404, 409, 413, 415, 503) },
    },
  }, async (request, reply) => {
    const { conversation_id: conversationId } = request.params;
    const appended = await appendMessages(pool, conversationId, request.body.messages);
    return reply.code(200).send({ conversation_id: conversationId, appended });
  });

  app.post("/v1/conversations/:conversation_id/close", {
    schema: {
      tags: ["conversations"],
      summary: "End a live conversation with its stored messages and queue it (parley.close_conversation)",
      description: "Closing an ended conversation returns its event.",
      params: conversationParams,
      response: { 202: queuedEventSchema, ...errorResponses(400, 401, 404, 503) },
    },
  }, async (request, reply) => {
    const eventId = await closeConversation(pool, request.params.conversation_id);
    return reply.code(202).send(await queuedEvent(request, eventId));
  });

  app.get("/v1/conversations/:conversation_id", {
    schema: {
      tags: ["conversations"],
      summary: "A conversation, its messages, and its event's status and results",
      params: conversationParams,
      response: { 200: conversationDetailSchema, ...errorResponses(400, 401, 404, 503) },
    },
  }, async (request, reply) => {
    const detail = await readConversation(db, request.params.conversation_id);
    if (detail.event) bindLog(request, { event_id: detail.event.event_id });
    return reply.code(200).send(detail);
  });
};
