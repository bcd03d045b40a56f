// Events: retrying a FAILED one, and the live stream of status changes.
//
// GET /v1/events/stream (Server-Sent Events). Each message is one change:
//   id: <txid>-<change_id>
//   data: {"event_id","conversation_id","profile_id","status","position"}
// A first `ready` message (id: a position) says the stream is live and sets
// the client's cursor even before any change arrives. A client that
// reconnects with Last-Event-ID first gets every event that changed after
// that cursor (at its latest change: a resumed client sees where each event
// stands, not every status it passed through), then the live changes; none
// is missed and none repeated. Order: the change log's (src/http/stream/).
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { ServerResponse } from "node:http";
import { retryEvent } from "../../ingest/client.js";
import { ParleyError } from "../../ingest/errors.js";
import { readEventStatus } from "../queries.js";
import { errorResponses, eventParams, retriedSchema, streamQuery } from "../route-schemas.js";
import { formatSseComment, formatSseMessage } from "../sse.js";
import { eventChangeSchema, isExpired, readChanges, readHead, type PositionedChange, type StreamFilter } from "../stream/changes.js";
import { StreamCursor } from "../stream/cursor.js";
import { formatPosition, parseCursor, type Position } from "../stream/position.js";
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
        "Filter with profile_id (or user_id) and conversation_id. Each message has id <txid>-<change_id> (its position)",
        "and data EventChange. Reconnect with Last-Event-ID to get, first, the latest change of every event",
        "that changed after it, then the live changes. A `ready` message (id: a position) marks the stream live;",
        "its data says how many changes were resumed and whether the cursor had expired (retention pruned changes after it).",
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
    const cursorText = typeof header === "string" && header.trim() !== "" ? header : query.last_event_id;
    const resumeFrom = parseCursor(cursorText);
    if (resumeFrom === null) {
      throw new ParleyError("invalid_payload", "Last-Event-ID: must be a position <txid>-<change_id> as this stream sent it", "Last-Event-ID");
    }

    try {
      await hub.start();
    } catch (error) {
      throw new ParleyError("database_unavailable", "the event stream cannot listen to the database; retry shortly", undefined, { cause: error });
    }

    const response = reply.raw;
    const send = (item: PositionedChange) => {
      write(formatSseMessage({ id: item.change.position, data: JSON.stringify(item.change) }));
    };
    const write = (text: string) => {
      if (response.writableEnded || response.destroyed) return;
      response.write(text);
      if (response.writableLength > MAX_BUFFERED_BYTES) {
        request.log.warn({ buffered: response.writableLength }, "event stream client is too slow; dropping it (it resumes from its cursor)");
        response.destroy();
      }
    };
    // A fresh client, and one whose cursor predates the change log, start at
    // the log's head; the others where they left off.
    let start: Position;
    let expired = false;
    try {
      const head = await readHead(db);
      if (resumeFrom === undefined || resumeFrom === "legacy") {
        start = head;
        expired = resumeFrom === "legacy";
      } else {
        start = resumeFrom;
        expired = await isExpired(db, resumeFrom);
      }
    } catch (error) {
      throw new ParleyError("database_unavailable", "the event stream cannot read the database; retry shortly", undefined, { cause: error });
    }
    const cursor = new StreamCursor(filter, start, send);
    // Listen before reading the log: a change that commits in between is
    // then both read and heard, and the cursor sends it once.
    const unsubscribe = hub.subscribe((item) => cursor.offer(item));
    let heartbeat: NodeJS.Timeout | undefined;
    let closed = false;
    // Registered before the first await: a client gone by then must not leave
    // a listener and a timer behind.
    response.on("close", () => {
      closed = true;
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(response);
      request.log.info({ cursor: formatPosition(cursor.position) }, "event stream closed");
    });

    let firstPage: PositionedChange[];
    try {
      firstPage = (await readChanges(db, start, filter, BACKLOG_PAGE, true)).changes;
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
      for (let page = firstPage; ; page = (await readChanges(db, cursor.position, filter, BACKLOG_PAGE, true)).changes) {
        if (closed) return;
        for (const item of page) cursor.deliver(item);
        resumed += page.length;
        if (page.length < BACKLOG_PAGE) break;
      }
    } catch (error) {
      // Headers are gone: all that is left is to end the stream; the client resumes from its cursor.
      request.log.warn({ err: error }, "event stream could not read its backlog; closing it");
      response.end();
      return;
    }
    // The cursor starts at `start` and only moves forward.
    const position = formatPosition(cursor.position);
    write(formatSseMessage({ id: position, event: "ready", data: JSON.stringify({ cursor: position, resumed, expired }) }));
    // Live changes heard meanwhile go out now, those the backlog covered skipped.
    cursor.goLive();
    request.log.info({ filter, resumed_from: cursorText, resumed, expired, cursor: position }, "event stream opened");
  });
};
