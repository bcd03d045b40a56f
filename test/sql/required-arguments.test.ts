// A required text argument of the SQL API (not a field of a JSON payload):
// null or empty is rejected with 22023, "<argument>: is required", the
// error's COLUMN naming it (sql/_validate.sql, parley._require).
import { expect } from "vitest";
import { it } from "../support/database.js";
import { sqlRejection } from "../support/fixtures.js";

const SECRET = "sql-test-secret-0123456789";

it.for([
  ["select parley.append_messages($1, '[]')", [], "conversation_id"],
  ["select parley.forget_user($1)", [], "profile_id"],
  ["select * from parley.search_conversations($1, 'dune')", [], "profile_id"],
  ["select parley.export_user($1)", [], "profile_id"],
  ["select parley.export_user_profile($1)", [], "profile_id"],
  ["select * from parley.export_user_conversations($1)", [], "profile_id"],
  ["select parley.add_webhook($1, $2)", [SECRET], "url"],
  ["select parley.add_webhook('https://example.com/', $1)", [], "secret"],
] as Array<[string, unknown[], string]>)("%s rejects a null or empty %s", async ([text, rest, argument], { database }) => {
  for (const value of [null, ""]) {
    const error = await sqlRejection(database.pool.query(text, [value, ...rest]));
    expect({ code: error.code, message: error.message, column: error.column }, `${argument} = ${JSON.stringify(value)}`)
      .toEqual({ code: "22023", message: `${argument}: is required`, column: argument });
  }
});
