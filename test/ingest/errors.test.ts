import { describe, expect, it } from "vitest";
import { fromDatabaseError, isDatabaseUnavailable, ParleyError } from "../../src/ingest/errors.js";

const pgError = (code: string, message: string, column?: string) => Object.assign(new Error(message), { code, column });

describe("fromDatabaseError", () => {
  it("turns the SQL API's SQLSTATEs into stable codes", () => {
    expect(fromDatabaseError(pgError("22023", "bot_type: must be one of TALK, GREETING, GAME_ACTIVITY (got X)", "bot_type"))?.toJSON())
      .toEqual({ code: "invalid_payload", message: "bot_type: must be one of TALK, GREETING, GAME_ACTIVITY (got X)", field: "bot_type" });
    expect(fromDatabaseError(pgError("22023", "payload: is 2000000 bytes; the limit is 1048576", "payload"))?.code).toBe("payload_too_large");
    expect(fromDatabaseError(pgError("22023", "messages: is 2000000 bytes; the limit is 1048576", "messages"))?.code).toBe("payload_too_large");
    expect(fromDatabaseError(pgError("P0002", "conversation_not_found: no conversation c1", "conversation_id"))?.code).toBe("conversation_not_found");
    expect(fromDatabaseError(pgError("P0002", "event_not_found: no event 9", "event_id"))?.code).toBe("event_not_found");
    expect(fromDatabaseError(pgError("55000", "conversation_ended: conversation c1 has ended", "conversation_id"))?.toJSON())
      .toEqual({ code: "conversation_ended", message: "conversation c1 has ended", field: "conversation_id" });
    expect(fromDatabaseError(pgError("22P05", "unsupported Unicode escape sequence"))?.code).toBe("invalid_payload");
  });

  it("says database_unavailable for a database that is not there, without its internals in the message", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 10.0.0.5:5432"), { code: "ECONNREFUSED" });
    const error = fromDatabaseError(refused)!;
    expect(error).toBeInstanceOf(ParleyError);
    expect(error.toJSON()).toEqual({ code: "database_unavailable", message: "the database is unavailable; retry shortly" });
    expect(isDatabaseUnavailable(pgError("57P01", "terminating connection due to administrator command"))).toBe(true);
    expect(isDatabaseUnavailable(pgError("08006", "connection failure"))).toBe(true);
    expect(isDatabaseUnavailable(new Error("Connection terminated unexpectedly"))).toBe(true);
    expect(isDatabaseUnavailable(new Error("timeout exceeded when trying to connect"))).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([refused], ""))).toBe(true);
  });

  it("leaves anything else alone: it is a bug, not the caller's to fix", () => {
    expect(fromDatabaseError(pgError("42P01", "relation does not exist"))).toBeUndefined();
    expect(fromDatabaseError(new TypeError("x is undefined"))).toBeUndefined();
    expect(fromDatabaseError("a string")).toBeUndefined();
    // A code is only taken from a message with the SQLSTATE the SQL API raises it with.
    expect(fromDatabaseError(pgError("P0002", "conversation_ended: conversation c1 has ended"))).toBeUndefined();
    expect(fromDatabaseError(pgError("55000", "conversation_not_found: no conversation c1"))).toBeUndefined();
    expect(fromDatabaseError(pgError("P0002", "internal_error: not one the SQL API raises"))).toBeUndefined();
  });
});
