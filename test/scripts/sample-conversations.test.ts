import { describe, expect } from "vitest";
import { sql } from "kysely";
import { SAMPLE_BOTS, sampleConversations } from "../../scripts/lib/sample-conversations.js";
import { countUserQuestions, sessionEmotion } from "../../src/pipeline/features.js";
import { it } from "../support/database.js";

describe("sampleConversations", () => {
  it("gives the same conversations for the same seed", () => {
    expect(sampleConversations(30, 7)).toEqual(sampleConversations(30, 7));
  });

  it("gives different conversations for another seed", () => {
    const a = sampleConversations(10, 1).map((c) => c.conversation_log[3]!.content);
    const b = sampleConversations(10, 2).map((c) => c.conversation_log[3]!.content);
    expect(a).not.toEqual(b);
  });

  it("a prefix of a longer run is the shorter run", () => {
    expect(sampleConversations(50, 3, { users: 10 }).slice(0, 20)).toEqual(sampleConversations(20, 3, { users: 10 }));
  });

  it("gives unique conversation ids that carry the seed, and honours the prefixes", () => {
    const conversations = sampleConversations(300, 42);
    expect(new Set(conversations.map((c) => c.conversation_id)).size).toBe(300);
    expect(conversations[0]!.conversation_id).toBe("sample_42_000");
    const custom = sampleConversations(2, 42, { idPrefix: "demo_a_", userPrefix: "u_a_", users: 1 });
    expect(custom.map((c) => [c.conversation_id, c.profile_id])).toEqual([["demo_a_0", "u_a_1"], ["demo_a_1", "u_a_1"]]);
  });

  it("varies users (a few regulars, many occasional), bots, bot types and moods", () => {
    const conversations = sampleConversations(300, 42);
    const perUser = new Map<string, number>();
    for (const c of conversations) perUser.set(c.profile_id, (perUser.get(c.profile_id) ?? 0) + 1);
    expect(perUser.size).toBeGreaterThan(30);
    expect(Math.max(...perUser.values())).toBeGreaterThanOrEqual(8);
    expect(Math.min(...perUser.values())).toBeLessThanOrEqual(3);
    expect(new Set(conversations.map((c) => c.bot_id)).size).toBe(SAMPLE_BOTS.length);
    expect(new Set(conversations.map((c) => c.bot_type))).toEqual(new Set(["TALK", "GREETING", "GAME_ACTIVITY"]));
    expect(new Set(conversations.map((c) => c.metadata.mood)).size).toBe(4);
    expect(new Set(conversations.map((c) => c.metadata.topic)).size).toBeGreaterThanOrEqual(12);
  });

  it("writes about 20 messages alternating agent and user, in time order inside the conversation", () => {
    for (const c of sampleConversations(100, 5)) {
      const log = c.conversation_log;
      expect(log.length).toBeGreaterThanOrEqual(16);
      expect(log.length).toBeLessThanOrEqual(25);
      log.forEach((m, i) => expect(m.role).toBe(i % 2 === 0 ? "agent" : "user"));
      const times = [c.start_time, ...log.map((m) => m.timestamp), c.end_time].map(Date.parse);
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      expect(log.every((m) => m.content.length > 0 && !m.content.includes("{x}"))).toBe(true);
    }
  });

  it("ends conversations within the week before `until`", () => {
    const until = Date.parse("2030-01-01T00:00:00Z");
    for (const c of sampleConversations(50, 9, { until })) {
      expect(Date.parse(c.end_time)).toBeLessThanOrEqual(until);
      expect(Date.parse(c.start_time)).toBeGreaterThanOrEqual(until - 7 * 24 * 3600 * 1000);
    }
  });

  it("gives the pipeline something to measure: user questions and moods the sentiment stage can tell apart", () => {
    const conversations = sampleConversations(200, 11);
    const questions = conversations.map((c) => countUserQuestions(c.conversation_log));
    expect(questions.filter((q) => q > 0).length).toBeGreaterThan(100);
    const valence = (mood: string) => {
      const of = conversations.filter((c) => c.metadata.mood === mood);
      return of.reduce((sum, c) => sum + sessionEmotion(c.conversation_log).valence, 0) / of.length;
    };
    expect(valence("cheerful")).toBeGreaterThan(0.05);
    expect(valence("grumpy")).toBeLessThan(-0.05);
  });

  it("rejects a bad count or seed", () => {
    expect(() => sampleConversations(-1, 1)).toThrow(/count/);
    expect(() => sampleConversations(1.5, 1)).toThrow(/count/);
    expect(() => sampleConversations(1, Number.NaN)).toThrow(/seed/);
  });
});

describe("sampleConversations against the SQL API", () => {

  it("every payload is accepted by parley.end_conversation, and its bot is in the seeded agent catalog", async ({ database }) => {
    const conversations = sampleConversations(40, 13);
    for (const payload of conversations) {
      await sql`select parley.end_conversation(${JSON.stringify(payload)}::jsonb)`.execute(database.db);
    }
    const { rows } = await sql<{ count: string }>`select count(*) from parley.conversation_events`.execute(database.db);
    expect(Number(rows[0]!.count)).toBe(40);
    const catalog = await sql<{ agent_id: string; agent_type: string; name: string; topics: string[] }>`
      select agent_id, agent_type, name, topics from parley.agent_catalog order by agent_id`.execute(database.db);
    const seeded = new Map(catalog.rows.map((row) => [row.agent_id, row]));
    for (const bot of SAMPLE_BOTS) {
      expect(seeded.get(bot.id), bot.id).toMatchObject({ agent_type: bot.type, name: bot.name });
    }
  });
});
