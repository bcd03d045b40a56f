import { describe, expect, it } from "vitest";
import { makePayloads, MESSAGES_PER_CONVERSATION, rowsPerConversation, toRows } from "../../scripts/bench/payloads.js";

describe("makePayloads", () => {
  const set = makePayloads(30, 1, "t");

  it("gives every design the same conversations: same seed, same payloads", () => {
    expect(makePayloads(30, 1, "t")).toEqual(set);
    expect(set.json.map((json) => JSON.parse(json))).toEqual(set.payloads);
  });

  it("has 20 messages per conversation and ids under the prefix", () => {
    for (const payload of set.payloads) {
      expect(payload.conversation_log).toHaveLength(MESSAGES_PER_CONVERSATION);
      expect(payload.conversation_id.startsWith("t_")).toBe(true);
    }
  });

  it("makes every message text unique, so the embedding cache cannot answer for the embedder", () => {
    const texts = set.payloads.flatMap((payload) => payload.conversation_log.map((message) => message.content));
    expect(new Set(texts).size).toBe(texts.length);
  });
});

describe("toRows", () => {
  it("lays a payload out as the rows Parley stores, messages numbered from 1", () => {
    const [payload] = makePayloads(1, 2, "r").payloads;
    const rows = toRows(payload!);
    expect(rows.conversation.slice(0, 3)).toEqual([payload!.conversation_id, payload!.profile_id, payload!.bot_type]);
    expect(rows.conversation[7]).toBe(20);
    expect(rows.messages.seq).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(rows.messages.content).toEqual(payload!.conversation_log.map((message) => message.content));
    expect(rowsPerConversation(payload!)).toBe(22);
  });
});
