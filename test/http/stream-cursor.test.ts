import { describe, expect, it } from "vitest";
import { matchesFilter, StreamCursor, type EventChange } from "../../src/http/event-stream.js";

const change = (seq: number, status: EventChange["status"] = "PENDING", profile = "user_1", conversation = `conv_${seq}`): EventChange => ({
  event_id: String(seq), conversation_id: conversation, profile_id: profile, status, change_seq: String(seq),
});

function collect(filter = {}, start = 0n) {
  const sent: string[] = [];
  const cursor = new StreamCursor(filter, start, (c) => sent.push(c.change_seq));
  return { cursor, sent };
}

describe("StreamCursor", () => {
  it("holds live changes while the backlog is written, then sends the ones the backlog did not cover, in order", () => {
    const { cursor, sent } = collect({}, 10n);
    cursor.offer(change(14));
    cursor.offer(change(12));
    cursor.deliver(change(11));
    cursor.deliver(change(12));
    expect(sent).toEqual(["11", "12"]);
    cursor.goLive();
    expect(sent).toEqual(["11", "12", "14"]);
    cursor.offer(change(15));
    expect(sent).toEqual(["11", "12", "14", "15"]);
    expect(cursor.position).toBe(15n);
  });

  it("never sends a change at or below the client's cursor", () => {
    const { cursor, sent } = collect({}, 20n);
    cursor.deliver(change(19));
    cursor.deliver(change(20));
    cursor.goLive();
    cursor.offer(change(20));
    cursor.offer(change(21));
    cursor.offer(change(21));
    expect(sent).toEqual(["21"]);
  });

  it("starts a fresh client after the high-water mark it read", () => {
    const { cursor, sent } = collect();
    cursor.offer(change(5));
    cursor.offer(change(7));
    cursor.goLive(6n);
    expect(sent).toEqual(["7"]);
  });

  it("compares change_seq as integers, not strings", () => {
    const { cursor, sent } = collect({}, 9n);
    cursor.goLive();
    cursor.offer(change(10));
    cursor.offer(change(100));
    expect(sent).toEqual(["10", "100"]);
  });

  it("sends only what the filter matches", () => {
    const { cursor, sent } = collect({ profileId: "user_2" });
    cursor.goLive();
    cursor.offer(change(1, "PENDING", "user_1"));
    cursor.offer(change(2, "PENDING", "user_2"));
    expect(sent).toEqual(["2"]);
  });
});

describe("matchesFilter", () => {
  it("matches on every filter given", () => {
    const c = change(1, "PROCESSED", "user_1", "conv_a");
    expect(matchesFilter(c, {})).toBe(true);
    expect(matchesFilter(c, { profileId: "user_1", conversationId: "conv_a" })).toBe(true);
    expect(matchesFilter(c, { profileId: "user_1", conversationId: "conv_b" })).toBe(false);
    expect(matchesFilter(c, { profileId: "user_2" })).toBe(false);
  });
});
