// The apply_retention cron task behind PARLEY_MESSAGE_RETENTION.
import { describe, expect } from "vitest";
import { parseCrontab, type JobHelpers } from "graphile-worker";
import { pino } from "pino";
import { applyRetentionTask, parseRetention, RETENTION_CRON } from "../../src/worker/apply-retention.js";
import { buildTaskList, createProcessingContext, CRONTAB } from "../../src/worker/runner.js";
import { Drainer } from "../../src/worker/drainer.js";
import { it, type TestDatabase } from "../support/database.js";
import { testConfig, uniqueId } from "../support/fixtures.js";
import { endConversations, processEvents } from "../support/user-data.js";

const log = pino({ level: "silent" });
const helpers = { abortSignal: new AbortController().signal } as unknown as JobHelpers;

describe("parseRetention", () => {
  it.each([
    ["90 days", "90 days"],
    ["90d", "90 days"],
    ["12h", "12 hours"],
    [" 1 year 6 months ", "1 years 6 months"],
    ["2 weeks, 3 days", "2 weeks 3 days"],
    ["30 MINUTES", "30 minutes"],
  ])("reads %j as %j", (text, interval) => {
    expect(parseRetention(text)).toBe(interval);
  });

  it.each(["", "forever", "90", "-5 days", "5 fortnights", "0 days", "1 day; drop table x"])("rejects %j", (text) => {
    expect(() => parseRetention(text)).toThrow(RangeError);
  });
});

describe("the apply_retention task", () => {

  it("is registered as a cron task every 10 minutes", ({ database }) => {
    expect(CRONTAB).toContain(RETENTION_CRON);
    expect(parseCrontab(RETENTION_CRON).map((item) => item.task)).toEqual(["apply_retention"]);
    const context = createProcessingContext({ config: testConfig(), pool: database.pool, log });
    const tasks = buildTaskList(context, new Drainer(context, { loops: 1 }), { idleTimeoutSeconds: 60, changeRetentionSeconds: 60, messageRetention: "90 days" });
    expect(Object.keys(tasks)).toContain("apply_retention");
  });

  it("deletes old messages of processed conversations, calling until nothing is left; unset, it does nothing", async ({ database }) => {
    const seeded = await endConversations(database.pool, uniqueId("cron"), [["old words", "reply"], ["more old words"], ["new words"]]);
    await processEvents(database.pool, seeded.map((c) => c.eventId));
    await database.pool.query(
      "update parley.conversations set started_at = now() - interval '100 days', ended_at = now() - interval '99 days' where conversation_id = any($1)",
      [seeded.slice(0, 2).map((c) => c.conversationId)]);
    await database.pool.query(
      "update parley.conversations set started_at = now() - interval '1 hour', ended_at = now() where conversation_id = $1",
      [seeded[2]!.conversationId]);
    const remaining = async (database: TestDatabase) => (await database.pool.query<{ n: number }>(
      "select count(*)::int as n from parley.messages where conversation_id = any($1)", [seeded.map((c) => c.conversationId)])).rows[0]!.n;

    await applyRetentionTask(database.db, log, undefined)({}, helpers);
    expect(await remaining(database)).toBe(4);
    await applyRetentionTask(database.db, log, parseRetention("90 days"))({}, helpers);
    expect(await remaining(database)).toBe(1);
  });
});
