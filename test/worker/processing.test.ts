// The processing guarantees README promises ("Processing and its guarantees"), each
// against a real worker or the real task handler on a real PostgreSQL.
import { describe, expect } from "vitest";
import { sql } from "kysely";
import { pino } from "pino";
import { it, type TestDatabase } from "../support/worker.js";
import {
  conversationPayload, endConversation, eventRow, testConfig, uniqueId, waitFor, waitForStatus,
} from "../support/fixtures.js";
import { createProcessingContext, CRONTAB, DELIVER_WEBHOOK_TASK, PROCESS_TASK } from "../../src/worker/runner.js";
import { processDueEvents, type Outcome, type ProcessingContext } from "../../src/worker/process-batch.js";
import { EmbeddingError, type Embedder } from "../../src/embed/embedder.js";
import { HashingEmbedder } from "../../src/embed/hashing.js";
import { parseCrontab } from "graphile-worker";

const log = pino({ level: "silent" });

/** Fails every call, as a provider that is down would. */
class FailingEmbedder implements Embedder {
  readonly model = "failing-8";
  readonly dimension = 8;
  calls = 0;
  async embed(): Promise<Float32Array[]> {
    this.calls++;
    throw new EmbeddingError("provider unavailable", { retryable: true });
  }
}

/** One delivery of an event's job, as a worker handles it: claim it (and nothing else) and process it. */
async function processConversation(eventId: string, context: ProcessingContext): Promise<Outcome | "blocked"> {
  const { outcomes, blocked } = await processDueEvents(context, [eventId]);
  return outcomes.get(eventId) ?? (blocked.includes(eventId) ? "blocked" : "not_due");
}

/** A processing context that claims one event at a time, so that each call handles exactly the event asked for. */
function singleEventContext(database: TestDatabase, env: Record<string, string> = {}, embedder?: Embedder) {
  return createProcessingContext({ config: testConfig({ PARLEY_BATCH_SIZE: "1", ...env }), pool: database.pool, log, ...(embedder ? { embedder } : {}) });
}

async function friendshipScore(database: TestDatabase, profileId: string): Promise<number | undefined> {
  const row = await database.db.selectFrom("parley.friendship_status").select("friendship_score")
    .where("profile_id", "=", profileId).executeTakeFirst();
  return row ? Number(row.friendship_score) : undefined;
}

describe("processing", () => {
  it("a committed conversation is processed: features, score, state, candidates and embedding", async ({ database, startWorker }) => {
    await startWorker();
    const profileId = uniqueId("user");
    const payload = conversationPayload({ profile_id: profileId });
    const eventId = await endConversation(database.pool, payload);
    const event = await waitForStatus(database.db, eventId, "PROCESSED");

    expect(event).toMatchObject({ attempt_count: 1, total_turns: 4, user_initiated_questions: 2, new_friendship_level: "PHASE1_STRANGER", error_code: null });
    expect(event.session_emotion?.label).toBe("positive");
    expect(event.processed_at!.getTime()).toBeGreaterThanOrEqual(event.created_at.getTime());
    const change = Number(event.friendship_score_change);
    expect(change).toBeGreaterThan(0);
    expect(await friendshipScore(database, profileId)).toBe(change);

    const candidates = await database.db.selectFrom("parley.agent_candidates").selectAll()
      .where("profile_id", "=", profileId).executeTakeFirstOrThrow();
    expect(candidates.expires_at.getTime() - candidates.computed_at.getTime()).toBe(12 * 3600 * 1000);
    expect(candidates.greeting_agent?.agent_id).toBe("greet_first_hello");
    expect(candidates.talk_candidates).toHaveLength(3);
    // The agent just talked to is not offered first again.
    expect(candidates.talk_candidates[0]!.agent_id).not.toBe("talk_movie_preference");

    const embedding = await database.db.selectFrom("parley.conversation_embeddings").selectAll()
      .where("conversation_id", "=", payload.conversation_id).executeTakeFirstOrThrow();
    expect(embedding).toMatchObject({ model: "hashing-1024", dimension: 1024 });
    expect(embedding.embedding).toHaveLength(1024);
    // Hashing is cheaper to recompute than to fetch: nothing goes to the cache table.
    const { rows: cached } = await database.pool.query("select count(*)::int as n from parley.embedding_cache where model = 'hashing-1024'");
    expect(cached[0].n).toBe(0);
  });

  it("workers pick jobs up through LISTEN/NOTIFY, not polling", async ({ database, startWorker }) => {
    // With an hour between polls, only a notification can wake the worker.
    await startWorker({ pollInterval: 3_600_000 });
    const eventId = await endConversation(database.pool, conversationPayload());
    await waitForStatus(database.db, eventId, "PROCESSED", 5_000);
  });

  it("repeated texts are embedded once, across conversations", async ({ database, startWorker }) => {
    const inner = new HashingEmbedder();
    let embedded = 0;
    const counting: Embedder = { model: inner.model, dimension: inner.dimension, embed: async (texts) => {
      embedded += texts.length;
      return inner.embed(texts);
    } };
    await startWorker({ embedder: counting });
    const log = [{ role: "agent", content: `A greeting seen once ${uniqueId("x")}` }, { role: "user", content: "hello there" }];
    const first = await endConversation(database.pool, conversationPayload({ conversation_log: log }));
    await waitForStatus(database.db, first, "PROCESSED");
    const afterFirst = embedded;
    const second = await endConversation(database.pool, conversationPayload({ conversation_log: [log[1]] }));
    await waitForStatus(database.db, second, "PROCESSED");
    expect(embedded).toBe(afterFirst);
  });
});

describe("exactly once in effect", () => {
  it("a job run twice changes friendship_status once", async ({ database }) => {
    const context = singleEventContext(database);
    const profileId = uniqueId("user");
    const eventId = await endConversation(database.pool, conversationPayload({ profile_id: profileId }));

    expect(await processConversation(eventId, context)).toBe("processed");
    const once = await friendshipScore(database, profileId);
    expect(await processConversation(eventId, context)).toBe("not_due");
    expect(await friendshipScore(database, profileId)).toBe(once);
    expect((await eventRow(database.db, eventId)).attempt_count).toBe(1);
  });

  it("a job run twice concurrently changes friendship_status once", async ({ database }) => {
    const context = singleEventContext(database);
    const profileId = uniqueId("user");
    const eventId = await endConversation(database.pool, conversationPayload({ profile_id: profileId }));

    // Both deliveries ask at once; one claim takes the event, the other finds it taken.
    const outcomes = await Promise.all([processConversation(eventId, context), processConversation(eventId, context)]);
    expect(outcomes.filter((outcome) => outcome === "processed")).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome !== "processed")[0]).toMatch(/^(blocked|not_due)$/);
    const event = await eventRow(database.db, eventId);
    expect(event.attempt_count).toBe(1);
    expect(await friendshipScore(database, profileId)).toBe(Number(event.friendship_score_change));
    const status = await database.db.selectFrom("parley.friendship_status").select("conversation_count")
      .where("profile_id", "=", profileId).executeTakeFirstOrThrow();
    expect(status.conversation_count).toBe(1);
  });

  it("duplicate jobs for one event through the real worker apply it once", async ({ database, startWorker }) => {
    const profileId = uniqueId("user");
    const eventIds = [];
    for (let i = 0; i < 5; i++) eventIds.push(await endConversation(database.pool, conversationPayload({ profile_id: profileId })));
    // A second, key-less job for every event: deliveries graphile-worker would count separately.
    for (const eventId of eventIds) {
      await database.pool.query("select graphile_worker.add_job('process_conversation', json_build_object('event_id', $1::bigint))", [eventId]);
    }
    await startWorker();
    for (const eventId of eventIds) await waitForStatus(database.db, eventId, "PROCESSED");
    await waitFor(async () => {
      const { rows } = await database.pool.query("select count(*)::int as n from graphile_worker.jobs where task_identifier = 'process_conversation'");
      return rows[0].n === 0;
    });
    const { rows } = await database.pool.query(
      "select sum(friendship_score_change)::float8 as total from parley.conversation_events where profile_id = $1", [profileId]);
    expect(await friendshipScore(database, profileId)).toBeCloseTo(rows[0].total, 2);
    const status = await database.db.selectFrom("parley.friendship_status").select("conversation_count")
      .where("profile_id", "=", profileId).executeTakeFirstOrThrow();
    expect(status.conversation_count).toBe(5);
  });
});

describe("failures", () => {
  it("retries follow the default schedule (30 s, 5 min, 30 min, 2 h) and end FAILED after 5 attempts", async ({ database }) => {
    const embedder = new FailingEmbedder();
    const context = singleEventContext(database, {}, embedder);
    const eventId = await endConversation(database.pool, conversationPayload());
    const expectedDelays = [30, 300, 1800, 7200];

    for (let attempt = 1; attempt <= 5; attempt++) {
      expect(await processConversation(eventId, context)).toBe(attempt < 5 ? "retry_scheduled" : "failed");
      const event = await eventRow(database.db, eventId);
      expect(event.attempt_count).toBe(attempt);
      if (attempt < 5) {
        expect(event.status).toBe("PENDING");
        const delay = (event.next_attempt_at.getTime() - event.last_attempt_at!.getTime()) / 1000;
        expect(delay).toBeCloseTo(expectedDelays[attempt - 1]!, 0);
        const { rows: jobs } = await database.pool.query<{ run_at: Date }>(
          "select run_at from graphile_worker.jobs where key = $1", [`parley:event:${eventId}`]);
        expect(jobs).toHaveLength(1);
        expect(jobs[0]!.run_at.getTime()).toBe(event.next_attempt_at.getTime());
        // Travel to the next attempt.
        await database.pool.query("update parley.conversation_events set next_attempt_at = now() where event_id = $1", [eventId]);
      } else {
        expect(event).toMatchObject({ status: "FAILED", error_code: "embedding_failed", error_details: "provider unavailable" });
      }
    }
    expect(embedder.calls).toBe(5);
  });

  it("the schedule is configurable, and the real worker follows it to FAILED", async ({ database, startWorker }) => {
    const embedder = new FailingEmbedder();
    await startWorker({ env: { PARLEY_RETRY_SCHEDULE: "1s", PARLEY_MAX_ATTEMPTS: "3" }, embedder, pollInterval: 200 });
    const eventId = await endConversation(database.pool, conversationPayload());
    const event = await waitForStatus(database.db, eventId, "FAILED", 15_000);
    expect(event).toMatchObject({ attempt_count: 3, error_code: "embedding_failed" });
    // One call warming up the topic prototypes at start, then one per attempt.
    expect(embedder.calls).toBe(1 + 3);
  });

  it("an error retrying cannot fix fails at once", async ({ database }) => {
    const context = singleEventContext(database);
    const eventId = await endConversation(database.pool, conversationPayload({ conversation_log: [] }));
    expect(await processConversation(eventId, context)).toBe("failed");
    expect(await eventRow(database.db, eventId)).toMatchObject({
      status: "FAILED", attempt_count: 1, error_code: "empty_conversation",
    });
  });

  it("a poison event does not hold others", async ({ database, startWorker }) => {
    const poison = await endConversation(database.pool, conversationPayload({ conversation_log: [] }));
    const healthy = [];
    for (let i = 0; i < 5; i++) healthy.push(await endConversation(database.pool, conversationPayload()));
    await startWorker({ env: { PARLEY_CONCURRENCY: "1" } });
    for (const eventId of healthy) await waitForStatus(database.db, eventId, "PROCESSED");
    expect(await eventRow(database.db, poison)).toMatchObject({ status: "FAILED", error_code: "empty_conversation" });
  });

  it("a FAILED event put back with parley.retry_event is processed", async ({ database, startWorker }) => {
    const context = singleEventContext(database, { PARLEY_MAX_ATTEMPTS: "1" }, new FailingEmbedder());
    const eventId = await endConversation(database.pool, conversationPayload());
    expect(await processConversation(eventId, context)).toBe("failed");
    await database.pool.query("select parley.retry_event($1)", [eventId]);
    await startWorker();
    await waitForStatus(database.db, eventId, "PROCESSED");
  });

  it("attempts that never finish (a worker killed each time) still end FAILED", async ({ database }) => {
    const context = singleEventContext(database);
    const eventId = await endConversation(database.pool, conversationPayload());
    await database.pool.query("update parley.conversation_events set status = 'PROCESSING', attempt_count = 5 where event_id = $1", [eventId]);
    expect(await processConversation(eventId, context)).toBe("failed");
    expect(await eventRow(database.db, eventId)).toMatchObject({ status: "FAILED", attempt_count: 6, error_code: "attempts_exhausted" });
  });
});

describe("cron tasks", () => {
  it("every task a worker runs is one whose jobs the crash sweep releases (parley.release_dead_workers)", async ({ database }) => {
    const tasks = [PROCESS_TASK, DELIVER_WEBHOOK_TASK, ...parseCrontab(CRONTAB).map((item) => item.task)];
    const { rows: [fn] } = await database.pool.query<{ body: string }>(
      "select pg_get_functiondef('parley.release_dead_workers(interval)'::regprocedure) as body");
    for (const task of tasks) expect(fn!.body, task).toContain(`'${task}'`);
  });

  it("the reconciler and the idle closer run every minute", () => {
    const items = parseCrontab(CRONTAB);
    expect(items.map((item) => item.task).sort()).toEqual(["apply_retention", "close_idle_conversations", "prune_event_changes", "reconcile_events"]);
    for (const item of items) expect(item.match).toBeTypeOf("function");
    expect(CRONTAB).toMatch(/^\* \* \* \* \* reconcile_events/m);
    expect(CRONTAB).toMatch(/^\* \* \* \* \* close_idle_conversations/m);
  });

  it("the reconciler picks up a row inserted with a plain INSERT", async ({ database, startWorker }) => {
    const conversationId = uniqueId("conv_plain");
    await database.pool.query(`
      insert into parley.conversations (conversation_id, profile_id, bot_type, bot_id, started_at, ended_at, is_active, message_count)
      values ($1, 'user_plain', 'TALK', 'talk_music_taste', now() - interval '5 minutes', now(), false, 1);
      `.replace("$1", `'${conversationId}'`));
    await database.pool.query("insert into parley.messages (conversation_id, seq, role, content) values ($1, 1, 'user', 'I love jazz')", [conversationId]);
    const { rows } = await database.pool.query<{ event_id: string }>(
      "insert into parley.conversation_events (conversation_id, profile_id) values ($1, 'user_plain') returning event_id", [conversationId]);
    const eventId = rows[0]!.event_id;

    const { rows: requeued } = await database.pool.query("select parley.requeue_stranded_events() as n");
    expect(requeued[0].n).toBe(1);
    await database.pool.query("delete from graphile_worker._private_jobs where key = $1", [`parley:event:${eventId}`]);

    await startWorker();
    // What the cron entry does every minute.
    await database.pool.query("select graphile_worker.add_job('reconcile_events')");
    await waitForStatus(database.db, eventId, "PROCESSED");
    // Nothing left to re-queue.
    const { rows: again } = await database.pool.query("select parley.requeue_stranded_events() as n");
    expect(again[0].n).toBe(0);
  });

  it("the reconciler leaves events that have a live job alone", async ({ database }) => {
    await endConversation(database.pool, conversationPayload());
    const { rows } = await database.pool.query("select parley.requeue_stranded_events() as n");
    expect(rows[0].n).toBe(0);
  });

  it("an idle conversation gets closed and processed; a recent one stays open", async ({ database, startWorker }) => {
    const open = async () => {
      const { rows } = await database.pool.query<{ id: string }>("select parley.start_conversation($1) as id",
        [JSON.stringify({ profile_id: "user_idle", bot_type: "TALK", bot_id: "talk_music_taste" })]);
      const id = rows[0]!.id;
      await database.pool.query("select parley.append_messages($1, $2)", [id, JSON.stringify([{ role: "user", content: "are you there?" }])]);
      return id;
    };
    const idle = await open();
    const recent = await open();
    await database.pool.query("update parley.conversations set started_at = now() - interval '40 minutes', last_activity_at = now() - interval '31 minutes' where conversation_id = $1", [idle]);
    await database.pool.query("update parley.conversations set last_activity_at = now() - interval '29 minutes' where conversation_id = $1", [recent]);

    await startWorker({ env: { PARLEY_IDLE_TIMEOUT: "1800" } });
    await database.pool.query("select graphile_worker.add_job('close_idle_conversations')");
    const closed = await waitFor(async () => {
      const row = await database.db.selectFrom("parley.conversations").selectAll().where("conversation_id", "=", idle).executeTakeFirstOrThrow();
      return row.is_active ? undefined : row;
    });
    expect(closed.ended_at!.getTime()).toBe(closed.last_activity_at.getTime());
    const { rows } = await database.pool.query<{ event_id: string }>("select event_id from parley.conversation_events where conversation_id = $1", [idle]);
    await waitForStatus(database.db, rows[0]!.event_id, "PROCESSED");
    const stillOpen = await database.db.selectFrom("parley.conversations").select("is_active").where("conversation_id", "=", recent).executeTakeFirstOrThrow();
    expect(stillOpen.is_active).toBe(true);
  });
});

describe("pipeline_stats", () => {
  it("reports processing latency over the last hour once events are processed", async ({ database }) => {
    const { rows } = await sql<{ processed_last_hour: string; latency_p50_seconds: number | null }>`
      select processed_last_hour, latency_p50_seconds from parley.pipeline_stats`.execute(database.db);
    expect(Number(rows[0]!.processed_last_hour)).toBeGreaterThan(0);
    expect(rows[0]!.latency_p50_seconds).toBeGreaterThanOrEqual(0);
  });
});
