// Events: retrying a FAILED one, and the live stream of status changes.
//
// GET /v1/events/stream (Server-Sent Events). Each message is one change:
//   id: <event_id>:<change_seq>
//   data: {"event_id","conversation_id","profile_id","status","change_seq"}
// A first `ready` message (id: <change_seq>) says the stream is live and sets
// the client's cursor even before any change arrives. A client that
// reconnects with Last-Event-ID first gets every event that changed after
// that cursor (in its current state: a resumed client sees the latest status
// of each, not every status it passed through), then the live changes; none
// is missed and none repeated. Order: change_seq, which is commit order.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { ServerResponse } from "node:http";
import { retryEvent } from "../../ingest/client.js";
import { ParleyError } from "../../ingest/errors.js";
import { eventChangeSchema, readChanges, readHighWater, StreamCursor, type EventChange, type StreamFilter } from "../event-stream.js";
import { readEventStatus } from "../queries.js";
import { errorResponses, eventParams, retriedSchema, streamQuery } from "../schemas.js";
import { formatSseComment, formatSseMessage, parseCursor } from "../sse.js";
import { bindLog, type RouteContext } from "./context.js";

const BACKLOG_PAGE = 500;
// A client this far behind is dropped; it resumes from its cursor on reconnect.
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const CLIENT_RETRY_MS = 2000;

export const eventRoutes: FastifyPluginAsyncZod<RouteContext> = async (app, context) => {
  const { pool, db, hub } = context;

  app.post("/v1/events/:event_id/retry", {
    schema: {
      tags: ["events"],
      summary: "Put a FAILED event back to PENDING with a fresh job (parley.retry_event)",
      description: "202 when the event was FAILED and is queued again; 200 with retried=false and its status otherwise.",
      params: eventParams,
      response: { 200: retriedSchema, 202: retriedSchema, ...errorResponses(400, 401, 404, 503) },
    },
  }, async (request, reply) => {
    const { event_id: eventId } = request.params;
    bindLog(request, { event_id: eventId });
    const retried = await retryEvent(pool, eventId);
    const event = await readEventStatus(db, eventId);
    bindLog(request, { conversation_id: event.conversation_id });
    return reply.code(retried ? 202 : 200).send({ event_id: eventId, retried, status: event.status });
  });

  const open = new Set<ServerResponse>();
  // Open streams would hold server.close() forever.
  app.addHook("preClose", async () => {
    for (const response of open) response.end();
  });

  app.get("/v1/events/stream", {
    schema: {
      tags: ["events"],
      summary: "Server-Sent Events: each event's status change as it commits",
      description: [
        "Filter with profile_id (or user_id) and conversation_id. Each message has id <event_id>:<change_seq>",
        "and data EventChange. Reconnect with Last-Event-ID to get, first, the current state of every event",
        "that changed after it, then the live changes. A `ready` message (id <change_seq>) marks the stream live.",
        "Comment lines keep the connection alive every 15 s.",
      ].join(" "),
      querystring: streamQuery,
      response: {
        200: eventChangeSchema.meta({ description: "text/event-stream; each message's data is an EventChange" }),
        ...errorResponses(400, 401, 503),
      },
    },
  }, async (request, reply) => {
    const query = request.query;
    if (query.profile_id !== undefined && query.user_id !== undefined && query.profile_id !== query.user_id) {
      throw new ParleyError("invalid_payload", "user_id: differs from profile_id; send one of them", "user_id");
    }
    const filter: StreamFilter = { profileId: query.profile_id ?? query.user_id, conversationId: query.conversation_id };
    const header = request.headers["last-event-id"];
    const resumeFrom = parseCursor(typeof header === "string" && header.trim() !== "" ? header : query.last_event_id);
    if (resumeFrom === null) {
      throw new ParleyError("invalid_payload", "Last-Event-ID: must be <event_id>:<change_seq> or <change_seq> as this stream sent it", "Last-Event-ID");
    }

    try {
      await hub.start();
    } catch (error) {
      throw new ParleyError("database_unavailable", "the event stream cannot listen to the database; retry shortly", undefined, { cause: error });
    }

    const response = reply.raw;
    const send = (change: EventChange) => {
      write(formatSseMessage({ id: `${change.event_id}:${change.change_seq}`, data: JSON.stringify(change) }));
    };
    const write = (text: string) => {
      if (response.writableEnded || response.destroyed) return;
      response.write(text);
      if (response.writableLength > MAX_BUFFERED_BYTES) {
        request.log.warn({ buffered: response.writableLength }, "event stream client is too slow; dropping it (it resumes from its cursor)");
        response.destroy();
      }
    };
    const cursor = new StreamCursor(filter, resumeFrom ?? 0n, send);
    // Listen before reading the table: a change that commits in between is
    // then both read and heard, and the cursor sends it once.
    const unsubscribe = hub.subscribe((change) => cursor.offer(change));
    let heartbeat: NodeJS.Timeout | undefined;
    let closed = false;
    // Registered before the first await: a client gone by then must not leave
    // a listener and a timer behind.
    response.on("close", () => {
      closed = true;
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(response);
      request.log.info({ cursor: cursor.position.toString() }, "event stream closed");
    });

    let firstPage: EventChange[] = [];
    let highWater = 0n;
    try {
      if (resumeFrom !== undefined) firstPage = await readChanges(db, resumeFrom, filter, BACKLOG_PAGE);
      else highWater = await readHighWater(db);
    } catch (error) {
      unsubscribe();
      throw error;
    }

    reply.hijack();
    if (closed) return;
    open.add(response);
    response.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      // nginx buffers responses unless told not to.
      "x-accel-buffering": "no",
      "x-request-id": request.id,
    });
    heartbeat = setInterval(() => write(formatSseComment("keep-alive")), context.sseHeartbeatMs);
    heartbeat.unref();
    write(`retry: ${CLIENT_RETRY_MS}\n\n`);

    let resumed = 0;
    try {
      for (let page = firstPage; ; page = await readChanges(db, cursor.position, filter, BACKLOG_PAGE)) {
        if (closed) return;
        for (const change of page) cursor.deliver(change);
        resumed += page.length;
        if (page.length < BACKLOG_PAGE) break;
      }
    } catch (error) {
      // Headers are gone: all that is left is to end the stream; the client resumes from its cursor.
      request.log.warn({ err: error }, "event stream could not read its backlog; closing it");
      response.end();
      return;
    }
    const position = (cursor.position > highWater ? cursor.position : highWater).toString();
    write(formatSseMessage({ id: position, event: "ready", data: JSON.stringify({ cursor: position, resumed }) }));
    // Live changes heard meanwhile go out now, those the backlog covered skipped.
    cursor.goLive(highWater);
    request.log.info({ filter, resumed_from: resumeFrom?.toString(), resumed, cursor: position }, "event stream opened");
  });
};
