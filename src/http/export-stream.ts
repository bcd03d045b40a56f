// GET /v1/users/:profile_id/export: parley.export_user's document, written
// out page by page (parley.export_user_conversations, keyset pagination) so
// that a user with ten thousand conversations never sits in memory whole. The
// pages are read in one REPEATABLE READ transaction: the document is the
// same snapshot export_user would have returned.
import type pg from "pg";

export const EXPORT_PAGE_SIZE = 100;
/** Longest pause between two page reads while a slow client catches up, before PostgreSQL ends the transaction. */
const IDLE_IN_EXPORT = "60s";

type Client = Pick<pg.PoolClient, "query" | "release">;

/**
 * Opens the export's transaction and reads the user's profile part, so that a
 * failure there still becomes an HTTP error; then returns the document as a
 * sequence of JSON text chunks. The client is released when the sequence
 * ends, fails, or is abandoned.
 */
export async function openExport(client: Client, profileId: string, pageSize = EXPORT_PAGE_SIZE): Promise<AsyncGenerator<string>> {
  let profile: string;
  try {
    await client.query("begin isolation level repeatable read read only");
    await client.query(`set local idle_in_transaction_session_timeout = '${IDLE_IN_EXPORT}'`);
    const { rows } = await client.query<{ doc: string }>("select parley.export_user_profile($1)::text as doc", [profileId]);
    profile = rows[0]!.doc;
  } catch (error) {
    await finish(client, false);
    throw error;
  }
  return chunks(client, profileId, profile, pageSize);
}

async function* chunks(client: Client, profileId: string, profile: string, pageSize: number): AsyncGenerator<string> {
  let done = false;
  try {
    // The profile part is a JSON object: its closing brace gives way to the conversations.
    yield `${profile.slice(0, profile.lastIndexOf("}"))}, "conversations": [`;
    let after: string | null = null;
    let first = true;
    for (;;) {
      const { rows }: { rows: Array<{ conversation_id: string; doc: string }> } = await client.query(
        "select conversation_id, conversation::text as doc from parley.export_user_conversations($1, $2, $3)",
        [profileId, after, pageSize]);
      for (const row of rows) {
        yield first ? row.doc : `, ${row.doc}`;
        first = false;
      }
      if (rows.length < pageSize) break;
      after = rows.at(-1)!.conversation_id;
    }
    yield "]}";
    done = true;
  } finally {
    await finish(client, done);
  }
}

async function finish(client: Client, committed: boolean): Promise<void> {
  try {
    await client.query(committed ? "commit" : "rollback");
    client.release();
  } catch (error) {
    // A connection that failed mid-transaction is not handed back to the pool.
    client.release(error as Error);
  }
}
