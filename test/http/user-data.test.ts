// GET /v1/users/:id/search, DELETE /v1/users/:id, GET /v1/users/:id/export.
import { afterAll, describe, expect } from "vitest";
import type { FastifyInstance } from "fastify";
import { it } from "../support/database.js";
import { conversationPayload, uniqueId } from "../support/fixtures.js";
import { endConversations, exportUser, processEvents } from "../support/user-data.js";
import { EXPORT_PAGE_SIZE, openExport } from "../../src/http/export-stream.js";
import { AUTH, testApp, testConfig } from "./support.js";

let app: FastifyInstance;
it.beforeAll(async ({ database }) => {
  app = testApp(database.pool);
  await app.ready();
});
afterAll(async () => {
  await app?.close();
});

const path = (profileId: string, rest = "") => `/v1/users/${encodeURIComponent(profileId)}${rest}`;

describe("GET /v1/users/:profile_id/search", () => {
  it("answers the user's matching conversations, embedding q with the configured embedder (hybrid)", async ({ database }) => {
    const profileId = uniqueId("http_search");
    const [dune, cats] = await endConversations(database.pool, profileId, [
      ["We watched Dune at the cinema", "The desert looked amazing"],
      ["My cats sleep all day", "Cats are like that"],
    ]);
    // Processed with the hashing embedder, the API's configured one here, so the stored vectors are comparable.
    await processEvents(database.pool, [dune!.eventId, cats!.eventId]);
    const response = await app.inject({ method: "GET", url: `${path(profileId, "/search")}?q=${encodeURIComponent("dune cinema")}&k=5`, headers: AUTH });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ profile_id: profileId, query: "dune cinema", mode: "hybrid" });
    expect(body.results[0]).toMatchObject({
      conversation_id: dune!.conversationId, bot_type: "TALK", bot_id: "talk_movie_preference",
      snippet: "We watched Dune at the cinema", snippet_seq: 1, keyword_rank: 1, vector_rank: 1,
      ended_at: "2025-11-25T18:20:00.000Z",
    });
    // The vector ranking reaches the conversation without the words, after the one with them.
    expect(body.results.map((hit: { conversation_id: string }) => hit.conversation_id)).toEqual([dune!.conversationId, cats!.conversationId]);
    expect(body.results[1].keyword_rank).toBeNull();
  });

  it("passes the filters through and matches the profile exactly, whatever the id holds", async ({ database }) => {
    for (const profileId of ["h_1", "h%1", "h\\1", "hX1"]) {
      await endConversations(database.pool, profileId, [["a lighthouse story"]]);
      await endConversations(database.pool, profileId, [["a lighthouse game"]],
        { bot_type: "GAME_ACTIVITY", bot_id: "game_movie_quiz", bot_name: "Movie Quiz", end_time: "2025-11-25T18:30:00Z" });
    }
    for (const profileId of ["h_1", "h%1", "h\\1", "hX1"]) {
      const all = (await app.inject({ method: "GET", url: `${path(profileId, "/search")}?q=lighthouse`, headers: AUTH })).json();
      expect(all.results, profileId).toHaveLength(2);
      const games = (await app.inject({ method: "GET", url: `${path(profileId, "/search")}?q=lighthouse&bot_type=GAME_ACTIVITY&from=2025-11-25T18:25:00Z`, headers: AUTH })).json();
      expect(games.results.map((hit: { bot_id: string }) => hit.bot_id), profileId).toEqual(["game_movie_quiz"]);
    }
  });

  it("answers 400 invalid_payload naming the parameter, from the schema or from SQL", async () => {
    const cases: Array<[string, string]> = [
      ["", "q"],
      ["?q=", "q"],
      ["?q=x&k=0", "k"],
      ["?q=x&k=many", "k"],
      ["?q=x&bot_type=CHAT", "bot_type"],
      ["?q=x&colour=red", "colour"],
      ["?q=x&from=yesterday", "from"],
      ["?q=x&from=2025-02-30T00:00:00Z", "from"],
      ["?q=x&from=2025-03-01T00:00:00Z&to=2025-02-01T00:00:00Z", "to"],
    ];
    for (const [query, field] of cases) {
      const response = await app.inject({ method: "GET", url: `${path("someone", "/search")}${query}`, headers: AUTH });
      expect([response.statusCode, response.json().code, response.json().field], query).toEqual([400, "invalid_payload", field]);
      expect(response.json().message.startsWith(`${field}: `), query).toBe(true);
    }
  });

  it("searches by the words alone when the embedder cannot embed the query, and says so", async ({ database }) => {
    const profileId = uniqueId("http_keyword");
    const [conversation] = await endConversations(database.pool, profileId, [["the telescope arrived"]]);
    // Nothing listens on port 9: the embedder fails at once.
    const offline = testApp(database.pool, { config: testConfig({ PARLEY_EMBEDDER: "ollama", PARLEY_OLLAMA_URL: "http://127.0.0.1:9", PARLEY_EMBED_DIMENSION: "8" }) });
    try {
      const response = await offline.inject({ method: "GET", url: `${path(profileId, "/search")}?q=telescope`, headers: AUTH });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ mode: "keyword", results: [{ conversation_id: conversation!.conversationId, vector_rank: null }] });
    } finally {
      await offline.close();
    }
  });
});

describe("DELETE /v1/users/:profile_id", () => {
  it("forgets the user and answers the counts; again, zeros", async ({ database }) => {
    const profileId = uniqueId("http_forget%_");
    const [conversation] = await endConversations(database.pool, profileId, [["please forget me", "done"]]);
    await processEvents(database.pool, [conversation!.eventId]);
    const response = await app.inject({ method: "DELETE", url: path(profileId), headers: AUTH });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ conversations: 1, messages: 2, events: 1, embeddings: 1, friendship_status: 1, agent_candidates: 1 });
    expect(await exportUser(database.pool, profileId)).toEqual({ profile_id: profileId, friendship_status: null, agent_candidates: null, conversations: [] });
    const again = await app.inject({ method: "DELETE", url: path(profileId), headers: AUTH });
    expect(Object.values(again.json()).every((count) => count === 0)).toBe(true);
  });

  it("needs the API key", async () => {
    const response = await app.inject({ method: "DELETE", url: path("anyone") });
    expect(response.statusCode).toBe(401);
  });
});

describe("GET /v1/users/:profile_id/export", () => {
  it("streams the same document parley.export_user returns, over several pages", async ({ database }) => {
    const profileId = uniqueId("http_export");
    const count = EXPORT_PAGE_SIZE + 30;
    const payloads = Array.from({ length: count }, (_, i) => conversationPayload({
      profile_id: profileId, conversation_log: [{ role: "user", content: `conversation number ${i} with "quotes" and \\ backslash` }],
    }));
    // The processed one first: a user's events are processed in order.
    const [first] = await endConversations(database.pool, profileId, [["processed one"]]);
    await processEvents(database.pool, [first!.eventId]);
    await database.pool.query("select parley.end_conversations($1)", [JSON.stringify(payloads)]);

    const response = await app.inject({ method: "GET", url: path(profileId, "/export"), headers: AUTH });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^application\/json/);
    const streamed = JSON.parse(response.body) as { conversations: unknown[] };
    expect(streamed.conversations).toHaveLength(count + 1);
    expect(streamed).toEqual(await exportUser(database.pool, profileId));
  });

  it("streams an empty document for a user never seen", async () => {
    const exported = await app.inject({ method: "GET", url: path("never_seen%", "/export"), headers: AUTH });
    expect(exported.json()).toEqual({ profile_id: "never_seen%", friendship_status: null, agent_candidates: null, conversations: [] });
  });

  it("reads one page at a time, as the document is consumed, in one transaction", async ({ database }) => {
    const profileId = uniqueId("pages");
    await endConversations(database.pool, profileId, Array.from({ length: 7 }, (_, i) => [`page test ${i}`]));
    const real = await database.pool.connect();
    const statements: string[] = [];
    let fetched = 0;
    let released = false;
    const spy = {
      query: async (text: string, values?: unknown[]) => {
        statements.push(text);
        const result = await real.query(text, values);
        if (text.includes("export_user_conversations")) fetched += result.rows.length;
        return result;
      },
      release: (error?: Error) => {
        released = true;
        real.release(error);
      },
    } as unknown as Parameters<typeof openExport>[0];

    const chunks = await openExport(spy, profileId, 3);
    let consumed = 0;
    const parts: string[] = [];
    for await (const chunk of chunks) {
      parts.push(chunk);
      if (chunk.startsWith("{\"") || chunk.startsWith(", {")) consumed++;
      // Never more than one page read ahead of what the consumer took.
      expect(fetched - consumed).toBeLessThanOrEqual(3);
    }
    expect(statements.filter((text) => text.includes("export_user_conversations"))).toHaveLength(3);
    expect(statements[0]).toBe("begin isolation level repeatable read read only");
    expect(statements.at(-1)).toBe("commit");
    expect(released).toBe(true);
    expect(JSON.parse(parts.join(""))).toEqual(await exportUser(database.pool, profileId));
  });
});
