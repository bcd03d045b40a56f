// The HTTP status that fits each error code (src/ingest/errors.ts). Typed against the codes, so
// that a new code does not compile until it has a status here.
import type { FastifyReply } from "fastify";
import type { ErrorCode, ParleyError } from "../ingest/errors.js";

export const HTTP_STATUS = {
  invalid_payload: 400,
  unauthorized: 401,
  not_found: 404,
  conversation_not_found: 404,
  event_not_found: 404,
  webhook_not_found: 404,
  conversation_ended: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  internal_error: 500,
  database_unavailable: 503,
} as const satisfies Record<ErrorCode, number>;

/** Answers `error` as `{code, message, field?}` with the status of its code. */
export function sendError(reply: FastifyReply, error: ParleyError): FastifyReply {
  return reply.code(HTTP_STATUS[error.code]).send(error.toJSON());
}
