// Errors a caller of Parley can see: a stable code, a message naming the
// problem and, for bad input, the field. The SQL API raises them as SQLSTATEs;
// fromDatabaseError turns those (and a database that cannot be reached) into
// ParleyErrors. The HTTP status of each code is the HTTP API's (src/http/errors.ts).
import type { z } from "zod";
import { describeIssue } from "./payloads.js";

/** Every code a ParleyError can carry, from the SQL API, the TypeScript client or the HTTP API. */
export const ERROR_CODES = [
  "invalid_payload",
  "unauthorized",
  "not_found",
  "conversation_not_found",
  "event_not_found",
  "webhook_not_found",
  "conversation_ended",
  "payload_too_large",
  "unsupported_media_type",
  "internal_error",
  "database_unavailable",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * The codes SQL functions raise as the first word of their message, with the SQLSTATE each
 * comes with (sql/_locked_conversation.sql, sql/append_messages.sql, sql/retry_event.sql).
 */
const RAISED_BY_SQL: Partial<Record<ErrorCode, string>> = {
  conversation_not_found: "P0002",
  event_not_found: "P0002",
  conversation_ended: "55000",
};

export class ParleyError extends Error {
  override name = "ParleyError";

  constructor(readonly code: ErrorCode, message: string, readonly field?: string, options?: { cause?: unknown }) {
    super(message, options);
  }

  toJSON(): { code: ErrorCode; message: string; field?: string } {
    return { code: this.code, message: this.message, ...(this.field === undefined ? {} : { field: this.field }) };
  }
}

/** The first problem zod found, worded like the SQL API's 22023 errors. */
export function invalidPayload(error: z.ZodError, input: unknown): ParleyError {
  const { field, problem } = describeIssue(error.issues[0]!, input);
  return new ParleyError("invalid_payload", `${field}: ${problem}`, field, { cause: error });
}

// SQLSTATEs and driver errors that mean "PostgreSQL is not there right now":
// connection exceptions (class 08), shutdown and start-up (57P01-57P03), too
// many connections (53300) and a statement cut off by statement_timeout (57014).
const UNAVAILABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300", "57014"]);
const UNAVAILABLE_NODE_CODES = new Set([
  "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH",
]);
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated/,
  /timeout exceeded when trying to connect/,
  /^Query read timeout/,
  /is not queryable/,
  /Cannot use a pool after calling end/,
];

export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    if (code.startsWith("08") && code.length === 5) return true;
    if (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_NODE_CODES.has(code)) return true;
  }
  // Node reports a host with several addresses (localhost) as an AggregateError.
  if (error instanceof AggregateError && error.errors.some(isDatabaseUnavailable)) return true;
  return UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(error.message));
}

const TOO_LARGE = /^\S+: is \d+ bytes; the limit is \d+$/;

/** The ParleyError a database error stands for, or undefined when it is not one the caller can act on. */
export function fromDatabaseError(error: unknown): ParleyError | undefined {
  if (error instanceof ParleyError) return error;
  if (isDatabaseUnavailable(error)) {
    return new ParleyError("database_unavailable", "the database is unavailable; retry shortly", undefined, { cause: error });
  }
  if (!(error instanceof Error)) return undefined;
  const { code, column } = error as { code?: unknown; column?: unknown };
  if (typeof code !== "string") return undefined;
  const field = typeof column === "string" && column !== "" ? column : undefined;
  if (code === "22023") {
    return new ParleyError(TOO_LARGE.test(error.message) ? "payload_too_large" : "invalid_payload", error.message, field, { cause: error });
  }
  // Other data exceptions: JSON PostgreSQL cannot store (\u0000), numbers out
  // of range; 54001: JSON nested deeper than PostgreSQL parses.
  if (code.startsWith("22") || code === "54001") {
    return new ParleyError("invalid_payload", `payload: ${error.message}`, field ?? "payload", { cause: error });
  }
  // These messages start with the code itself ("conversation_ended: ..."); the code travels apart.
  const coded = /^(\w+): (.*)$/s.exec(error.message);
  const raised = coded?.[1] as ErrorCode | undefined;
  if (raised !== undefined && Object.hasOwn(RAISED_BY_SQL, raised) && RAISED_BY_SQL[raised] === code) {
    return new ParleyError(raised, coded![2]!, field, { cause: error });
  }
  return undefined;
}
