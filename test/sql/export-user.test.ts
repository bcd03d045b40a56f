// parley.export_user and its pieces: one document with everything held about
// a user, the same whether built at once or page by page.
import { describe, expect } from "vitest";
import { DatabaseError } from "pg";
import { it } from "../support/database.js";
import { uniqueId } from "../support/fixtures.js";
import { endConversations, exportUser, processEvents } from "../support/user-data.js";

describe("parley.export_user", () => {
  it("holds the user's state, candidates and every conversation with its messages, vector and event", async ({ database }) => {
    const profileId = uniqueId("export");
    const [done, pending] = await endConversations(database.pool, profileId, [
      ["Have you seen Dune?", "Yes, twice!"],
      ["Not processed yet"],
    ]);
    await processEvents(database.pool, [done!.eventId]);
    const doc = await exportUser(database.pool, profileId);

    expect(Object.keys(doc).sort()).toEqual(["agent_candidates", "conversations", "friendship_status", "profile_id"]);
    expect(doc.profile_id).toBe(profileId);
    expect(doc.friendship_status).toMatchObject({ conversation_count: 1, friendship_level: "PHASE1_STRANGER" });
    expect(doc.agent_candidates).toMatchObject({ source_event_id: Number(done!.eventId) });
    const conversations = doc.conversations as Array<Record<string, any>>;
    expect(conversations.map((c) => c.conversation_id).sort()).toEqual([done!.conversationId, pending!.conversationId].sort());

    const first = conversations.find((c) => c.conversation_id === done!.conversationId)!;
    expect(first).toMatchObject({ bot_type: "TALK", bot_id: "talk_movie_preference", message_count: 2, is_active: false, messages_deleted_at: null });
    expect(first.profile_id).toBeUndefined();
    expect(first.messages.map((m: any) => [m.seq, m.role, m.content])).toEqual([[1, "user", "Have you seen Dune?"], [2, "agent", "Yes, twice!"]]);
    expect(first.messages[0].search_vector).toBeUndefined();
    expect(first.embedding).toMatchObject({ model: "hashing-1024", dimension: 1024 });
    expect(first.embedding.embedding).toHaveLength(1024);
    expect(first.event).toMatchObject({ event_id: Number(done!.eventId), status: "PROCESSED", attempt_count: 1 });
    expect(first.event.results).toMatchObject({ total_turns: 2, user_initiated_questions: 1, new_friendship_level: "PHASE1_STRANGER" });

    const second = conversations.find((c) => c.conversation_id === pending!.conversationId)!;
    expect(second.event).toMatchObject({ status: "PENDING", results: null });
    expect(second.embedding).toBeNull();
  });

  it("an unknown user is an empty document, not an error", async ({ database }) => {
    const profileId = uniqueId("nobody");
    expect(await exportUser(database.pool, profileId)).toEqual({ profile_id: profileId, friendship_status: null, agent_candidates: null, conversations: [] });
  });

  it("is the profile part plus every page of export_user_conversations, in order", async ({ database }) => {
    const profileId = uniqueId("pages");
    // Equal start times: the keyset's second column (conversation_id) decides.
    await endConversations(database.pool, profileId, Array.from({ length: 7 }, (_, i) => [`message ${i}`]));
    await endConversations(database.pool, profileId, [["later"]], { start_time: "2025-11-26T18:00:00Z", end_time: "2025-11-26T18:20:00Z" });

    const pages: Array<Array<{ conversation_id: string; conversation: unknown }>> = [];
    let after: string | null = null;
    for (;;) {
      const { rows }: { rows: Array<{ conversation_id: string; conversation: unknown }> } = await database.pool.query(
        "select * from parley.export_user_conversations($1, $2, 3)", [profileId, after]);
      if (rows.length === 0) break;
      pages.push(rows);
      after = rows.at(-1)!.conversation_id;
    }
    expect(pages.map((page) => page.length)).toEqual([3, 3, 2]);
    const { rows: [profile] } = await database.pool.query<{ doc: Record<string, unknown> }>("select parley.export_user_profile($1) as doc", [profileId]);
    expect({ ...profile!.doc, conversations: pages.flat().map((row) => row.conversation) }).toEqual(await exportUser(database.pool, profileId));
  });

  it("rejects bad arguments with 22023 naming them", async ({ database }) => {
    const cases: Array<[string, unknown[], string]> = [
      ["select parley.export_user($1)", [""], "profile_id"],
      ["select * from parley.export_user_conversations($1, null, 0)", ["someone"], "page_size"],
      ["select * from parley.export_user_conversations($1, null, 1001)", ["someone"], "page_size"],
      ["select * from parley.export_user_conversations($1, 'not-theirs', 10)", ["someone"], "after_conversation_id"],
    ];
    for (const [text, values, field] of cases) {
      const error = await database.pool.query(text, values).catch((failure: unknown) => failure);
      expect(error).toBeInstanceOf(DatabaseError);
      expect([(error as DatabaseError).code, (error as DatabaseError).column]).toEqual(["22023", field]);
    }
  });
});
