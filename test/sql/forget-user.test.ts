// parley.forget_user: everything about one user goes, in the caller's
// transaction, and nothing of anyone else's.
import { describe, expect } from "vitest";
import { DatabaseError } from "pg";
import type pg from "pg";
import { it, type TestDatabase } from "../support/database.js";
import { uniqueId, waitFor } from "../support/fixtures.js";
import {
  contentHashHex, endConversations, exportUser, processEvents, rowsKeyedBy, rowsMentioning, type SeededConversation,
} from "../support/user-data.js";

interface SeededUser {
  profileId: string;
  conversations: SeededConversation[];
  liveConversationId: string;
}

/**
 * A user with two processed conversations (state, candidates, vectors, cached
 * vectors), one still PENDING with its job, and a live one; every text carries
 * `tag`, so each user's texts are their own.
 */
async function seedUser(database: TestDatabase, profileId: string, tag: string): Promise<SeededUser> {
  const conversations = await endConversations(database.pool, profileId, [
    [`I watched Dune twice ${tag}`, `What did you like about it ${tag}?`],
    [`My cat sleeps all day ${tag}`, `Cats are great ${tag}`],
    [`Still waiting to be processed ${tag}`],
  ]);
  await processEvents(database.pool, conversations.slice(0, 2).map((c) => c.eventId));
  const { rows } = await database.pool.query<{ id: string }>(
    "select parley.start_conversation($1) as id", [JSON.stringify({ profile_id: profileId, bot_type: "TALK", bot_id: "talk_music_taste" })]);
  const liveConversationId = rows[0]!.id;
  await database.pool.query("select parley.append_messages($1, $2)", [liveConversationId, JSON.stringify([{ role: "user", content: `live words ${tag}` }])]);
  return { profileId, conversations, liveConversationId };
}

/** The user's ids by the column names that hold them, for rowsKeyedBy. */
function idsOf(user: SeededUser): Record<string, string[]> {
  return {
    profile_id: [user.profileId],
    conversation_id: [user.liveConversationId, ...user.conversations.map((c) => c.conversationId)],
    event_id: user.conversations.map((c) => c.eventId),
  };
}

function needlesOf(user: SeededUser): string[] {
  return [
    user.profileId,
    user.liveConversationId,
    ...user.conversations.flatMap((c) => [c.conversationId, `parley:event:${c.eventId}`, ...c.texts, ...c.texts.map(contentHashHex)]),
  ];
}

async function forget(client: pg.Pool | pg.PoolClient, profileId: string): Promise<Record<string, number>> {
  const { rows } = await client.query<{ counts: Record<string, number> }>("select parley.forget_user($1) as counts", [profileId]);
  return rows[0]!.counts;
}

async function jobsOfEvents(database: TestDatabase, eventIds: string[]): Promise<number> {
  const { rows } = await database.pool.query<{ n: number }>(
    "select count(*)::int as n from graphile_worker._private_jobs where payload ->> 'event_id' = any($1::text[])", [eventIds]);
  return rows[0]!.n;
}

async function cachedHashes(database: TestDatabase, texts: string[]): Promise<number> {
  const { rows } = await database.pool.query<{ n: number }>(
    "select count(*)::int as n from parley.embedding_cache where encode(content_hash, 'hex') = any($1)", [texts.map(contentHashHex)]);
  return rows[0]!.n;
}

describe("parley.forget_user", () => {
  it("leaves no row in any table of parley or graphile_worker that mentions the user, their ids or their texts", async ({ database }) => {
    const user = await seedUser(database, uniqueId("forget"), uniqueId("t"));
    // Processing removed the waiting jobs of the two processed events; the pending one's is queued.
    expect(await jobsOfEvents(database, user.conversations.map((c) => c.eventId))).toBe(1);
    expect(await cachedHashes(database, user.conversations[0]!.texts)).toBe(2);
    expect((await rowsMentioning(database.pool, needlesOf(user))).length).toBeGreaterThan(0);
    // The change log keys its rows by event_id alone: found by column, not by text.
    expect((await rowsKeyedBy(database.pool, idsOf(user))).map((found) => found.table)).toContain("parley.event_changes");

    const counts = await forget(database.pool, user.profileId);

    expect(counts).toEqual({
      conversations: 4, messages: 2 + 2 + 1 + 1, events: 3, embeddings: 2, cached_embeddings: 4, jobs: 1, event_changes: 7,
      friendship_status: 1, agent_candidates: 1, webhook_deliveries: 0,
    });
    expect(await rowsMentioning(database.pool, needlesOf(user))).toEqual([]);
    expect(await rowsKeyedBy(database.pool, idsOf(user))).toEqual([]);
    expect(await jobsOfEvents(database, user.conversations.map((c) => c.eventId))).toBe(0);
  });

  it("counts the webhook deliveries about the user (every attempt), and takes them and their queued jobs away", async ({ database }) => {
    const user = await seedUser(database, uniqueId("hooked"), uniqueId("t"));
    const { rows: [hook] } = await database.pool.query<{ id: string }>(
      "select parley.add_webhook('https://example.com/hook', 'a-secret-of-some-length', '{PROCESSED,FAILED}') as id");
    // Two events of the user finish again: one delivery each, one of them retried once.
    const [first, second] = user.conversations.map((c) => c.eventId);
    await database.pool.query("update parley.conversation_events set status = 'FAILED', error_code = 'x' where event_id = any($1::bigint[])", [[first, second]]);
    const { rows: deliveries } = await database.pool.query<{ delivery_id: string }>(
      "select delivery_id from parley.webhook_messages where event_id = any($1::bigint[]) order by event_id", [[first, second]]);
    expect(deliveries).toHaveLength(2);
    await database.pool.query(`update parley.webhook_deliveries set status = 'FAILED', error_code = 'http_500', attempted_at = now(), duration_ms = 1
      where delivery_id = $1`, [deliveries[0]!.delivery_id]);
    await database.pool.query("insert into parley.webhook_deliveries (delivery_id, attempt) values ($1, 2)", [deliveries[0]!.delivery_id]);
    const deliveryJobs = async () => (await database.pool.query<{ n: number }>(
      "select count(*)::int as n from graphile_worker.jobs where key = any($1::text[])",
      [deliveries.map((d) => `parley:webhook_delivery:${d.delivery_id}`)])).rows[0]!.n;
    expect(await deliveryJobs()).toBe(2);

    const counts = await forget(database.pool, user.profileId);
    expect(counts.webhook_deliveries).toBe(3);
    expect(await deliveryJobs()).toBe(0);
    const { rows: left } = await database.pool.query("select 1 from parley.webhook_deliveries where delivery_id = any($1::uuid[])", [deliveries.map((d) => d.delivery_id)]);
    expect(left).toEqual([]);
    await database.pool.query("select parley.remove_webhook($1)", [hook!.id]);
  });

  it("touches nothing of other users, also when their ids are LIKE patterns of each other", async ({ database }) => {
    // "a_b" and "a%b" as LIKE patterns match all of these; "a\b" is an escape in a pattern.
    const ids = ["a_b", "a%b", "axb", "a\\b", "aXYb", "a_b_", "%"];
    const users = new Map<string, SeededUser>();
    for (const id of ids) users.set(id, await seedUser(database, id, uniqueId("t")));
    const before = new Map<string, unknown>();
    for (const id of ids) before.set(id, { export: await exportUser(database.pool, id), jobs: await jobsOfEvents(database, users.get(id)!.conversations.map((c) => c.eventId)) });

    const forgotten: string[] = [];
    for (const gone of ["a%b", "a_b", "%"]) {
      const counts = await forget(database.pool, gone);
      forgotten.push(gone);
      expect(counts.conversations, gone).toBe(4);
      expect(await exportUser(database.pool, gone)).toEqual({ profile_id: gone, friendship_status: null, agent_candidates: null, conversations: [] });
      // Ids and texts are unique to each user; a profile id like "a_b" is a substring of "a_b_", so it is compared exactly instead.
      expect(await rowsMentioning(database.pool, needlesOf(users.get(gone)!).filter((needle) => needle !== gone))).toEqual([]);
      expect(await rowsKeyedBy(database.pool, idsOf(users.get(gone)!))).toEqual([]);
      for (const id of ids.filter((candidate) => !forgotten.includes(candidate))) {
        const user = users.get(id)!;
        expect({ export: await exportUser(database.pool, id), jobs: await jobsOfEvents(database, user.conversations.map((c) => c.eventId)) }, `${id} after forgetting ${gone}`)
          .toEqual(before.get(id));
        expect(await cachedHashes(database, user.conversations.flatMap((c) => c.texts.slice(0, 2))), id).toBe(4);
      }
    }
  });

  it("forgetting an unknown user returns zero counts and changes nothing", async ({ database }) => {
    const counts = await forget(database.pool, uniqueId("nobody"));
    expect(counts).toEqual({
      conversations: 0, messages: 0, events: 0, event_changes: 0, embeddings: 0, cached_embeddings: 0, jobs: 0, friendship_status: 0,
      agent_candidates: 0, webhook_deliveries: 0,
    });
  });

  it("runs in the caller's transaction: rolled back, everything is still there", async ({ database }) => {
    const user = await seedUser(database, uniqueId("rollback"), uniqueId("t"));
    const before = await exportUser(database.pool, user.profileId);
    const client = await database.pool.connect();
    try {
      await client.query("begin");
      expect((await forget(client, user.profileId)).conversations).toBe(4);
      await client.query("rollback");
    } finally {
      client.release();
    }
    expect(await exportUser(database.pool, user.profileId)).toEqual(before);
  });

  it("deletes a running job and the keyless copy graphile-worker leaves when a running job is replaced", async ({ database }) => {
    const profileId = uniqueId("jobs");
    const [conversation] = await endConversations(database.pool, profileId, [["a job is running for this one"]]);
    const key = `parley:event:${conversation!.eventId}`;
    // A worker holds the job; a re-queue (add_job with the same key) then
    // clears the running job's key and adds a fresh one.
    await database.pool.query("update graphile_worker._private_jobs set locked_at = now(), locked_by = 'worker-x' where key = $1", [key]);
    await database.pool.query("select parley._enqueue($1, null)", [conversation!.eventId]);
    expect(await jobsOfEvents(database, [conversation!.eventId])).toBe(2);

    expect((await forget(database.pool, profileId)).jobs).toBe(2);
    expect(await jobsOfEvents(database, [conversation!.eventId])).toBe(0);
  });

  it("rejects a missing profile_id with 22023 naming it", async ({ database }) => {
    for (const bad of [null, ""]) {
      const error = await database.pool.query("select parley.forget_user($1)", [bad]).catch((failure: unknown) => failure);
      expect(error).toBeInstanceOf(DatabaseError);
      expect(error).toMatchObject({ code: "22023", column: "profile_id" });
    }
  });
});

describe("forget_user and a worker applying one of the user's events (lock order)", () => {
  interface Race {
    profileId: string;
    conversation: SeededConversation;
    worker: pg.PoolClient;
    forgetter: pg.PoolClient;
  }

  /** A user with one ended conversation, and two connections of their own: a worker's and forget_user's. */
  async function race(database: TestDatabase, text: string, run: (race: Race) => Promise<void>): Promise<void> {
    const profileId = uniqueId("race");
    const [conversation] = await endConversations(database.pool, profileId, [[text]]);
    const worker = await database.pool.connect();
    const forgetter = await database.pool.connect();
    try {
      await run({ profileId, conversation: conversation!, worker, forgetter });
    } finally {
      // Whatever transaction a failed assertion left open.
      await forgetter.query("rollback").catch(() => {});
      await worker.query("rollback").catch(() => {});
      worker.release();
      forgetter.release();
    }
  }

  async function backendPid(client: pg.PoolClient): Promise<number> {
    return (await client.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid;
  }

  async function backendWaitingOnLock(database: TestDatabase, pid: number): Promise<boolean> {
    const { rows } = await database.pool.query<{ waiting: boolean }>(
      "select wait_event_type = 'Lock' as waiting from pg_stat_activity where pid = $1", [pid]);
    return rows[0]?.waiting === true;
  }

  it("a worker that locked the event first finishes; forget waits, then removes what it wrote", ({ database }) =>
    race(database, "a worker is applying this one right now", async ({ profileId, conversation, worker, forgetter }) => {
      // The worker's apply transaction: event row first, then the user's rows.
      await worker.query("begin");
      await worker.query("select status from parley.conversation_events where event_id = $1 for update", [conversation.eventId]);
      await worker.query("insert into parley.friendship_status (profile_id, friendship_score) values ($1, 3)", [profileId]);
      await worker.query("update parley.conversation_events set status = 'PROCESSED', processed_at = now() where event_id = $1", [conversation.eventId]);

      const forgetterPid = await backendPid(forgetter);
      let settled = false;
      const forgetting = forget(forgetter, profileId).finally(() => (settled = true));
      await waitFor(() => backendWaitingOnLock(database, forgetterPid));
      expect(settled).toBe(false);

      await worker.query("commit");
      const counts = await forgetting;
      expect(counts).toMatchObject({ conversations: 1, events: 1, friendship_status: 1 });
      expect(await rowsMentioning(database.pool, [profileId, conversation.conversationId, ...conversation.texts])).toEqual([]);
    }));

  it("a worker that comes second finds the event gone and has nothing to write", ({ database }) =>
    race(database, "forgotten before the worker got to it", async ({ profileId, conversation, worker, forgetter }) => {
      await forgetter.query("begin");
      await forget(forgetter, profileId);
      const workerPid = await backendPid(worker);
      await worker.query("begin");
      const locking = worker.query("select status from parley.conversation_events where event_id = $1 for update", [conversation.eventId]);
      await waitFor(() => backendWaitingOnLock(database, workerPid));
      await forgetter.query("commit");
      expect((await locking).rows).toEqual([]);
      await worker.query("commit");
      expect(await rowsMentioning(database.pool, [profileId, conversation.conversationId])).toEqual([]);
    }));
});
