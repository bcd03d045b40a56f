// Worker v2: events claimed and applied in batches (sql/claim_events.sql,
// sql/complete_events.sql, sql/fail_events.sql). Each promise of the batch
// path against a real PostgreSQL: poison events fail alone, users' events
// fold in event_id order within and across batches, concurrent workers
// neither deadlock nor count twice, and a batch whose events were deleted or
// whose users moved under it writes nothing wrong.
import { describe, expect } from "vitest";
import { pino } from "pino";
import { it, type TestDatabase } from "../support/worker.js";
import { conversationPayload, endConversation, eventRow, testConfig, uniqueId, waitFor } from "../support/fixtures.js";
import { createProcessingContext } from "../../src/worker/runner.js";
import { processClaimed, processDueEvents } from "../../src/worker/process-batch.js";
import { claimEvents } from "../../src/worker/transitions.js";
import { EmbeddingError, type Embedder } from "../../src/embed/embedder.js";
import { HashingEmbedder } from "../../src/embed/hashing.js";
import { applyConversations, DEFAULT_LEVEL_THRESHOLDS, INITIAL_FRIENDSHIP_STATE } from "../../src/pipeline/friendship.js";
import { DEFAULT_SCORE_WEIGHTS, friendshipScoreChange } from "../../src/pipeline/score.js";
import type { TopicMetrics } from "../../src/domain.js";

const log = pino({ level: "silent" });
// Each test starts from an empty queue: what one leaves due must not land in the next one's batches.
it.beforeEach(async ({ database }) => {
  await database.pool.query("truncate parley.conversations, parley.friendship_status, parley.agent_candidates cascade");
  await database.pool.query("delete from graphile_worker._private_jobs");
});

function context(database: TestDatabase, env: Record<string, string> = {}, embedder?: Embedder) {
  return createProcessingContext({ config: testConfig(env), pool: database.pool, log, ...(embedder ? { embedder } : {}) });
}

/** Fails, for good, every call that carries "poison": as a provider that rejects one input would. */
function poisonSensitive(): Embedder & { calls: number } {
  const inner = new HashingEmbedder();
  return {
    model: inner.model,
    dimension: inner.dimension,
    calls: 0,
    async embed(texts) {
      this.calls++;
      if (texts.some((text) => text.includes("poison"))) throw new EmbeddingError("rejected input", { retryable: false });
      return inner.embed(texts);
    },
  };
}

/** A conversation whose mood is decided by its user line: "bad" ones take the score down. */
function conversation(profileId: string, mood: "good" | "bad" = "good", extra = "") {
  const user = mood === "good"
    ? `I love movies and music, they are wonderful! What do you like? ${extra}`
    : `This is awful, terrible, I hate it and everything is horrible. ${extra}`;
  return conversationPayload({
    profile_id: profileId,
    conversation_log: [
      { role: "agent", content: "Hi! How was your day?" },
      { role: "user", content: user },
    ],
  });
}

/**
 * The state a user must have if their events were folded in event_id order: the pure fold over
 * the features recorded on their events, compared with the recorded changes and the stored state.
 */
async function expectFoldedInOrder(database: TestDatabase, profileId: string) {
  const events = await database.db.selectFrom("parley.conversation_events")
    .select(["event_id", "status", "friendship_score_change", "new_friendship_level", "topic_metrics", "total_turns",
      "user_initiated_questions", "session_emotion"])
    .where("profile_id", "=", profileId).orderBy("event_id").execute();
  expect(events.every((event) => event.status === "PROCESSED")).toBe(true);
  // The change before the floor at 0 is not stored; recompute it from the features with the default weights.
  const { steps, state } = applyConversations(INITIAL_FRIENDSHIP_STATE, events.map((event) => ({
    change: friendshipScoreChange({
      total_turns: event.total_turns!, user_initiated_questions: event.user_initiated_questions!,
      topic_metrics: event.topic_metrics as TopicMetrics, session_emotion: event.session_emotion!,
    }, DEFAULT_SCORE_WEIGHTS),
    topics: event.topic_metrics as TopicMetrics,
  })), DEFAULT_LEVEL_THRESHOLDS);
  events.forEach((event, i) => {
    expect(Number(event.friendship_score_change), `event ${event.event_id}`).toBe(steps[i]!.appliedChange);
    expect(event.new_friendship_level).toBe(steps[i]!.state.friendship_level);
  });
  const stored = await database.db.selectFrom("parley.friendship_status").selectAll().where("profile_id", "=", profileId).executeTakeFirstOrThrow();
  expect(Number(stored.friendship_score)).toBe(state.friendship_score);
  expect(stored.topic_metrics).toEqual(state.topic_metrics);
  expect(stored.conversation_count).toBe(events.length);
  expect(stored.last_event_id).toBe(events.at(-1)!.event_id);
}

describe("a batch", () => {
  it("in which one event is poison: only that one fails, the others are processed in the same batch", async ({ database }) => {
    const embedder = poisonSensitive();
    const ids = [
      await endConversation(database.pool, conversation(uniqueId("user_a"))),
      await endConversation(database.pool, conversation(uniqueId("user_b"), "good", "poison")),
      await endConversation(database.pool, conversation(uniqueId("user_c"))),
    ];
    const { outcomes, claimed } = await processDueEvents(context(database, {}, embedder));
    expect(claimed).toBe(3);
    expect(ids.map((id) => outcomes.get(id))).toEqual(["processed", "failed", "processed"]);
    expect(await eventRow(database.db, ids[1]!)).toMatchObject({ status: "FAILED", error_code: "embedding_failed", error_details: "rejected input" });
    // One call for the batch, then one per event to find the one at fault.
    expect(embedder.calls).toBe(1 + 3);
  });

  it("holds two users' events and folds each user's in event_id order", async ({ database }) => {
    const alice = uniqueId("alice");
    const bob = uniqueId("bob");
    for (const [user, mood] of [[alice, "good"], [bob, "bad"], [alice, "bad"], [bob, "good"], [alice, "good"]] as const) {
      await endConversation(database.pool, conversation(user, mood));
    }
    const { outcomes, claimed } = await processDueEvents(context(database));
    expect(claimed).toBe(5);
    expect([...outcomes.values()].every((outcome) => outcome === "processed")).toBe(true);
    await expectFoldedInOrder(database, alice);
    await expectFoldedInOrder(database, bob);
    const candidates = await database.db.selectFrom("parley.agent_candidates").select(["profile_id", "source_event_id"]).orderBy("profile_id").execute();
    expect(candidates).toHaveLength(2);
  });

  it("spreads one user's events over several batches, applied in order", async ({ database }) => {
    const user = uniqueId("spread");
    const moods = ["bad", "good", "good", "bad", "bad", "good", "bad"] as const;
    for (const mood of moods) await endConversation(database.pool, conversation(user, mood));
    const small = context(database, { PARLEY_BATCH_SIZE: "2" });
    let batches = 0;
    for (;;) {
      const { claimed } = await processDueEvents(small);
      if (claimed === 0) break;
      expect(claimed).toBeLessThanOrEqual(2);
      batches++;
    }
    expect(batches).toBe(4);
    await expectFoldedInOrder(database, user);
  });

  it("leaves a user's later event while an earlier one is being processed elsewhere", async ({ database }) => {
    const user = uniqueId("ordered");
    const first = await endConversation(database.pool, conversation(user));
    const second = await endConversation(database.pool, conversation(user));
    const one = await claimEvents(database.pool, "worker-a", 1, 300, [first]);
    expect(one.claimed.map((event) => event.event_id)).toEqual([first]);
    const other = await claimEvents(database.pool, "worker-b", 10, 300, [second]);
    expect(other).toEqual({ txid: null, claimed: [], blocked: [second], notDue: [] });
    // An earlier event waiting for its retry holds nothing back.
    await database.pool.query("update parley.conversation_events set status = 'PENDING', next_attempt_at = now() + interval '1 hour', claimed_by = null where event_id = $1", [first]);
    const later = await claimEvents(database.pool, "worker-b", 10, 300, [second]);
    expect(later.claimed.map((event) => event.event_id)).toEqual([second]);
  });

  it("writes nothing back for a user forgotten while their event is mid-batch, and the rest goes on", async ({ database }) => {
    const kept = uniqueId("kept");
    const forgotten = uniqueId("forgotten");
    const keptEvent = await endConversation(database.pool, conversation(kept));
    const goneEvent = await endConversation(database.pool, conversation(forgotten));
    const ctx = context(database);
    const claim = await claimEvents(database.pool, ctx.workerId, 10, 300, []);
    expect(claim.claimed).toHaveLength(2);
    // The user is forgotten while the batch computes.
    await database.pool.query("select parley.forget_user($1)", [forgotten]);
    const outcomes = await processClaimed(ctx, claim.claimed);
    expect(outcomes.get(goneEvent)).toBe("already_done");
    expect(outcomes.get(keptEvent)).toBe("processed");
    for (const table of ["friendship_status", "agent_candidates"] as const) {
      const { rows } = await database.pool.query(`select 1 from parley.${table} where profile_id = $1`, [forgotten]);
      expect(rows, table).toEqual([]);
    }
    const { rows } = await database.pool.query("select 1 from parley.conversation_embeddings e join parley.conversations c using (conversation_id) where c.profile_id = $1", [forgotten]);
    expect(rows).toEqual([]);
  });

  it("recomputes a user whose state moved between claim and apply", async ({ database }) => {
    const user = uniqueId("moved");
    const eventId = await endConversation(database.pool, conversation(user));
    const ctx = context(database);
    const claim = await claimEvents(database.pool, ctx.workerId, 10, 300, []);
    await database.pool.query(
      "insert into parley.friendship_status (profile_id, friendship_score, conversation_count) values ($1, 50, 3)", [user]);
    const outcomes = await processClaimed(ctx, claim.claimed);
    expect(outcomes.get(eventId)).toBe("processed");
    const event = await eventRow(database.db, eventId);
    const stored = await database.db.selectFrom("parley.friendship_status").selectAll().where("profile_id", "=", user).executeTakeFirstOrThrow();
    expect(Number(stored.friendship_score)).toBeCloseTo(50 + Number(event.friendship_score_change), 2);
    expect(stored.conversation_count).toBe(4);
    expect(stored.friendship_level).toBe("PHASE2_ACQUAINTANCE");
  });

  it("applies a claim whose lease lapsed once: the worker that claimed it again wins, the first writes nothing", async ({ database }) => {
    const user = uniqueId("lease");
    const eventId = await endConversation(database.pool, conversation(user));
    const first = context(database);
    const second = context(database);
    const claim = await claimEvents(database.pool, first.workerId, 10, 300, []);
    await database.pool.query("update parley.conversation_events set next_attempt_at = now() - interval '1 second' where event_id = $1", [eventId]);
    const { outcomes } = await processDueEvents(second);
    expect(outcomes.get(eventId)).toBe("processed");
    expect((await processClaimed(first, claim.claimed)).get(eventId)).toBe("already_done");
    const stored = await database.db.selectFrom("parley.friendship_status").selectAll().where("profile_id", "=", user).executeTakeFirstOrThrow();
    expect(stored.conversation_count).toBe(1);
    expect((await eventRow(database.db, eventId)).attempt_count).toBe(2);
  });
});

describe("concurrent workers", () => {
  it("4 workers running batches over the same 10 users: no deadlock, no double count, each user in order", { timeout: 60_000 }, async ({ database, startWorker }) => {
    const users = Array.from({ length: 10 }, (_, i) => uniqueId(`shared_${i}`));
    const lines: string[] = [];
    const capturing = pino({ level: "warn" }, { write: (line: string) => void lines.push(line) });
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) ids.push(await endConversation(database.pool, conversation(users[i % 10]!, i % 3 === 0 ? "bad" : "good", String(i))));
    for (let i = 0; i < 4; i++) {
      await startWorker({ env: { PARLEY_BATCH_SIZE: "8", PARLEY_BATCHES_IN_FLIGHT: "2" }, log: capturing, noWait: true });
    }
    await waitFor(async () => {
      const { rows } = await database.pool.query("select count(*)::int as n from parley.conversation_events where status = 'PROCESSED'");
      return rows[0].n === ids.length;
    }, 45_000, 100);
    for (const user of users) await expectFoldedInOrder(database, user);
    expect(lines.filter((line) => /deadlock/i.test(line))).toEqual([]);
    // Every event's job is gone: removed with its event, or completed by the handler that held it.
    await waitFor(async () => {
      const left = await database.pool.query("select count(*)::int as n from graphile_worker.jobs where task_identifier = 'process_conversation'");
      return left.rows[0].n === 0;
    });
  });
});
