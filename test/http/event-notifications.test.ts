// migrations/0002_event_notifications.sql: every event insert and status
// change gets a change_seq in commit order and a NOTIFY, both at commit.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { endConversation } from "../../src/ingest/client.js";
import { EVENT_CHANNEL } from "../../src/http/event-stream.js";
import { endPayload, until } from "./support.js";

let database: TestDatabase;
let listener: pg.Client;
const heard: Array<Record<string, string>> = [];

beforeAll(async () => {
  database = await createTestDatabase();
  listener = new pg.Client({ connectionString: database.url });
  await listener.connect();
  listener.on("notification", (message) => heard.push(JSON.parse(message.payload!)));
  await listener.query(`listen ${EVENT_CHANNEL}`);
  // graphile-worker's first add_job ever creates its task row; a second
  // transaction adding a job before that commits would wait for it.
  await endConversation(database.pool, endPayload());
});
afterAll(async () => {
  await listener?.end();
  await database?.drop();
});

async function inTransaction<T>(run: (client: pg.PoolClient) => Promise<T>) {
  const client = await database.pool.connect();
  await client.query("begin");
  return {
    value: await run(client),
    commit: async () => {
      await client.query("commit");
      client.release();
    },
    rollback: async () => {
      await client.query("rollback");
      client.release();
    },
  };
}

const changeSeq = async (eventId: string) =>
  (await database.pool.query("select change_seq::text as seq from parley.conversation_events where event_id = $1", [eventId])).rows[0].seq as string | null;

describe("event change notifications", () => {
  it("numbers changes in commit order: a transaction that commits later gets the larger change_seq", async () => {
    const first = await inTransaction((client) => endConversation(client, endPayload()));
    const second = await inTransaction((client) => endConversation(client, endPayload()));
    // Nothing is numbered before commit.
    await second.commit();
    await first.commit();
    expect(BigInt((await changeSeq(second.value))!)).toBeLessThan(BigInt((await changeSeq(first.value))!));
    await until(async () => heard.some((change) => change.event_id === first.value));
    const order = heard.filter((change) => [first.value, second.value].includes(change.event_id!)).map((change) => change.event_id);
    expect(order).toEqual([second.value, first.value]);
  });

  it("notifies ids and status only, for inserts and status changes, and not for other updates", async () => {
    const eventId = await endConversation(database.pool, endPayload({ profile_id: "user_notified" }));
    await database.pool.query("update parley.conversation_events set status = 'PROCESSING' where event_id = $1", [eventId]);
    await database.pool.query("update parley.conversation_events set attempt_count = attempt_count + 1 where event_id = $1", [eventId]);
    await database.pool.query("update parley.conversation_events set status = 'PROCESSING' where event_id = $1", [eventId]);
    await until(async () => heard.some((change) => change.event_id === eventId && change.status === "PROCESSING"));
    await database.pool.query("select pg_sleep(0.05)");
    const mine = heard.filter((change) => change.event_id === eventId);
    expect(mine.map((change) => change.status)).toEqual(["PENDING", "PROCESSING"]);
    expect(Object.keys(mine[0]!).sort()).toEqual(["change_seq", "conversation_id", "event_id", "profile_id", "status"]);
    expect(mine[0]).toMatchObject({ profile_id: "user_notified" });
    expect(await changeSeq(eventId)).toBe(mine[1]!.change_seq);
  });

  it("announces nothing for a transaction that rolls back", async () => {
    const rolledBack = await inTransaction((client) => endConversation(client, endPayload()));
    await rolledBack.rollback();
    const marker = await endConversation(database.pool, endPayload());
    await until(async () => heard.some((change) => change.event_id === marker));
    expect(heard.some((change) => change.event_id === rolledBack.value)).toBe(false);
  });

  it("works for the worker's role, which may not use Parley's sequences itself", async () => {
    const eventId = await endConversation(database.pool, endPayload());
    const client = await database.pool.connect();
    try {
      await client.query("set role parley_worker");
      await client.query("update parley.conversation_events set status = 'PROCESSING' where event_id = $1", [eventId]);
    } finally {
      await client.query("reset role");
      client.release();
    }
    await until(async () => heard.some((change) => change.event_id === eventId && change.status === "PROCESSING"));
  });
});
