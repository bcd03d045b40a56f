// The change log behind the live stream (migrations/0004, sql/_event_changes.sql,
// sql/event_changes.sql, sql/prune_event_changes.sql): one row per event insert
// and status change, one NOTIFY per transaction, and a read order in which a
// reader never finds a new change behind a position it has passed.
import { describe, expect, inject } from "vitest";
import pg from "pg";
import { it, type TestDatabase } from "../support/database.js";
import { conversationPayload, endConversation, waitFor } from "../support/fixtures.js";
import { EVENT_CHANNEL } from "../../src/domain.js";
import { readChanges } from "../../src/http/stream/changes.js";
import { comparePositions, ORIGIN, type Position } from "../../src/http/stream/position.js";

let listener: pg.Client;
const heard: string[] = [];

it.beforeAll(async ({ database }) => {
  listener = new pg.Client({ connectionString: database.url });
  await listener.connect();
  listener.on("notification", (message) => heard.push(message.payload!));
  await listener.query(`listen ${EVENT_CHANNEL}`);
  // graphile-worker's first add_job ever creates its task row; a second
  // transaction adding a job before that commits would wait for it.
  await endConversation(database.pool, conversationPayload());
});
it.afterAll(async () => {
  await listener?.end();
});

async function inTransaction<T>(database: TestDatabase, run: (client: pg.PoolClient) => Promise<T>) {
  const client = await database.pool.connect();
  await client.query("begin");
  const value = await run(client);
  const { rows } = await client.query<{ txid: string }>("select pg_current_xact_id()::text as txid");
  return {
    value,
    txid: rows[0]!.txid,
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

const changesOf = async (database: TestDatabase, eventId: string) =>
  (await database.pool.query<{ status: string; txid: string }>(
    "select status, txid::text from parley.event_changes where event_id = $1 order by txid, change_id", [eventId])).rows;

/** Everything readable after `after`, as a reader sees it now. */
async function readAll(database: TestDatabase, after: Position) {
  const read = await readChanges(database.db, after, {}, 10_000, false);
  return { ...read, last: read.changes.at(-1)?.at ?? after };
}

/**
 * Reads until what `done` wants has passed the horizon: a write transaction of
 * this database that began before ours keeps our rows back until it ends, as
 * the hub waits for it too.
 */
async function readUntil(database: TestDatabase, after: Position, done: (read: Awaited<ReturnType<typeof readAll>>) => boolean) {
  return waitFor(async () => {
    const read = await readAll(database, after);
    return done(read) ? read : undefined;
  });
}

describe("the change log", () => {
  it("records each insert and each status change, and nothing for other updates", async ({ database }) => {
    const eventId = await endConversation(database.pool, conversationPayload());
    await database.pool.query("update parley.conversation_events set status = 'PROCESSING' where event_id = $1", [eventId]);
    await database.pool.query("update parley.conversation_events set attempt_count = attempt_count + 1 where event_id = $1", [eventId]);
    await database.pool.query("update parley.conversation_events set status = 'PROCESSING' where event_id = $1", [eventId]);
    expect((await changesOf(database, eventId)).map((change) => change.status)).toEqual(["PENDING", "PROCESSING"]);
  });

  it("sends one notification per transaction, carrying its id, however many events change", async ({ database }) => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await endConversation(database.pool, conversationPayload()));
    const batch = await inTransaction(database, async (client) => {
      await client.query("update parley.conversation_events set status = 'PROCESSING' where event_id = any($1::bigint[])", [ids]);
      await client.query("update parley.conversation_events set status = 'PROCESSED' where event_id = any($1::bigint[])", [ids]);
    });
    await batch.commit();
    await waitFor(async () => heard.includes(batch.txid));
    await database.pool.query("select pg_sleep(0.05)");
    expect(heard.filter((payload) => payload === batch.txid)).toHaveLength(1);
    for (const eventId of ids) {
      expect((await changesOf(database, eventId)).map((change) => change.status)).toEqual(["PENDING", "PROCESSING", "PROCESSED"]);
    }
  });

  it("records and announces nothing for a transaction that rolls back", async ({ database }) => {
    const rolledBack = await inTransaction(database, (client) => endConversation(client, conversationPayload()));
    await rolledBack.rollback();
    const marker = await inTransaction(database, (client) => endConversation(client, conversationPayload()));
    await marker.commit();
    await waitFor(async () => heard.includes(marker.txid));
    expect(heard).not.toContain(rolledBack.txid);
    expect(await changesOf(database, rolledBack.value)).toEqual([]);
  });

  it("keeps a reader exact: a transaction that began first but commits last is read after, never behind the reader", async ({ database }) => {
    const start = (await readAll(database, ORIGIN)).last;
    const early = await inTransaction(database, (client) => endConversation(client, conversationPayload()));
    const late = await inTransaction(database, (client) => endConversation(client, conversationPayload()));
    expect(BigInt(early.txid)).toBeLessThan(BigInt(late.txid));
    await late.commit();

    // The later transaction committed, but the earlier one still runs: the reader waits for both.
    const whileEarlyRuns = await readAll(database, start);
    expect(whileEarlyRuns.changes.map((item) => item.change.event_id)).not.toContain(late.value);
    expect(whileEarlyRuns.horizon).toBeLessThanOrEqual(BigInt(early.txid));

    await early.commit();
    const after = await readUntil(database, whileEarlyRuns.last, (read) => read.changes.some((item) => item.change.event_id === late.value));
    const order = after.changes.map((item) => item.change.event_id);
    expect(order.indexOf(early.value)).toBeGreaterThanOrEqual(0);
    expect(order.indexOf(early.value)).toBeLessThan(order.indexOf(late.value));
    for (const item of after.changes) expect(comparePositions(item.at, whileEarlyRuns.last)).toBeGreaterThan(0);
  });

  it("is not held back by a write transaction of another database on the same server", async ({ database }) => {
    const start = (await readAll(database, ORIGIN)).last;
    const elsewhere = new pg.Client({ connectionString: inject("adminUrl") });
    await elsewhere.connect();
    try {
      await elsewhere.query("begin");
      const { rows: [other] } = await elsewhere.query<{ txid: string }>("select pg_current_xact_id()::text as txid");
      const eventId = await endConversation(database.pool, conversationPayload());
      const read = await readUntil(database, start, (found) => found.changes.some((item) => item.change.event_id === eventId));
      expect(read.horizon).toBeGreaterThan(BigInt(other!.txid));
    } finally {
      await elsewhere.query("rollback");
      await elsewhere.end();
    }
  });

  it("gives each event once at its latest change when asked for where events stand", async ({ database }) => {
    const from = (await readAll(database, ORIGIN)).last;
    const eventId = await endConversation(database.pool, conversationPayload({ profile_id: "user_latest" }));
    await database.pool.query("update parley.conversation_events set status = 'PROCESSING' where event_id = $1", [eventId]);
    await database.pool.query("update parley.conversation_events set status = 'PROCESSED' where event_id = $1", [eventId]);
    // Settled once every change of it is below the horizon (see readUntil).
    await readUntil(database, from, (read) => read.changes.filter((item) => item.change.event_id === eventId).length === 3);
    const latest = await readChanges(database.db, from, { profileId: "user_latest" }, 100, true);
    expect(latest.changes.map((item) => [item.change.event_id, item.change.status])).toEqual([[eventId, "PROCESSED"]]);
  });

  it("records changes the worker's role makes through the state machine, though it may not write the log itself", async ({ database }) => {
    const eventId = await endConversation(database.pool, conversationPayload({ profile_id: "user_worker_role" }));
    const client = await database.pool.connect();
    try {
      await client.query("set role parley_worker");
      await client.query("select * from parley.claim_events('role-test', 1, interval '1 minute', array[$1::bigint])", [eventId]);
      const refused = await client.query("insert into parley.event_changes (event_id, status) values (1, 'PENDING')").catch((error: { code: string }) => error.code);
      expect(refused).toBe("42501");
    } finally {
      await client.query("reset role");
      client.release();
    }
    expect((await changesOf(database, eventId)).map((change) => change.status)).toEqual(["PENDING", "PROCESSING"]);
  });
});

describe("retention", () => {
  it("prunes old changes oldest first, in bounded batches, and marks how far it went", async ({ database }) => {
    const eventId = await endConversation(database.pool, conversationPayload());
    const before = Number((await database.pool.query("select count(*) from parley.event_changes")).rows[0].count);
    await database.pool.query("update parley.event_changes set changed_at = now() - interval '2 days' where event_id <> $1", [eventId]);

    const first = await database.pool.query("select parley.prune_event_changes(interval '1 day', 2) as pruned");
    expect(Number(first.rows[0].pruned)).toBe(2);
    let total = 2;
    for (;;) {
      const { rows } = await database.pool.query("select parley.prune_event_changes(interval '1 day', 2) as pruned");
      total += Number(rows[0].pruned);
      if (Number(rows[0].pruned) < 2) break;
    }
    const left = await database.pool.query("select event_id::text from parley.event_changes");
    expect(left.rows.map((row) => row.event_id)).toEqual([eventId]);
    expect(total).toBe(before - 1);

    const expired = await database.pool.query("select parley.event_changes_expired('0'::xid8, 0) as expired");
    expect(expired.rows[0].expired).toBe(true);
    const kept = await database.pool.query(
      "select parley.event_changes_expired(txid, change_id) as expired from parley.event_changes where event_id = $1", [eventId]);
    expect(kept.rows[0].expired).toBe(false);
  });
});
