import { describe, expect, it } from "vitest";
import { matchesFilter, type PositionedChange } from "../../../src/http/stream/changes.js";
import { StreamCursor } from "../../../src/http/stream/cursor.js";
import { formatPosition, type Position } from "../../../src/http/stream/position.js";

/** A change at (txid, change) in the log; its event id is the change number. */
const change = (txid: number, changeId: number, status: PositionedChange["change"]["status"] = "PENDING", profile = "user_1", conversation = `conv_${changeId}`): PositionedChange => {
  const at = { txid: BigInt(txid), changeId: BigInt(changeId) };
  return { at, change: { event_id: String(changeId), conversation_id: conversation, profile_id: profile, status, position: formatPosition(at) } };
};

function collect(filter = {}, start: Position = { txid: 0n, changeId: 0n }) {
  const sent: string[] = [];
  const cursor = new StreamCursor(filter, start, (item) => sent.push(item.change.position));
  return { cursor, sent };
}

describe("StreamCursor", () => {
  it("holds live changes while the backlog is written, then sends the ones the backlog did not cover, in order", () => {
    const { cursor, sent } = collect({}, { txid: 100n, changeId: 10n });
    cursor.offer(change(104, 14));
    cursor.offer(change(102, 12));
    cursor.deliver(change(101, 11));
    cursor.deliver(change(102, 12));
    expect(sent).toEqual(["101-11", "102-12"]);
    cursor.goLive();
    expect(sent).toEqual(["101-11", "102-12", "104-14"]);
    cursor.offer(change(105, 15));
    expect(sent).toEqual(["101-11", "102-12", "104-14", "105-15"]);
    expect(cursor.position).toEqual({ txid: 105n, changeId: 15n });
  });

  it("never sends a change at or below the client's cursor", () => {
    const { cursor, sent } = collect({}, { txid: 200n, changeId: 20n });
    cursor.deliver(change(199, 25));
    cursor.deliver(change(200, 20));
    cursor.goLive();
    cursor.offer(change(200, 20));
    cursor.offer(change(200, 21));
    cursor.offer(change(200, 21));
    expect(sent).toEqual(["200-21"]);
  });

  it("orders by transaction first: a later transaction's change sorts after, whatever its change number", () => {
    const { cursor, sent } = collect();
    cursor.offer(change(11, 3));
    cursor.offer(change(10, 7));
    cursor.goLive();
    expect(sent).toEqual(["10-7", "11-3"]);
  });

  it("starts after a floor when one is given", () => {
    const { cursor, sent } = collect();
    cursor.offer(change(5, 5));
    cursor.offer(change(7, 7));
    cursor.goLive({ txid: 6n, changeId: 0n });
    expect(sent).toEqual(["7-7"]);
  });

  it("compares positions as integers, not strings", () => {
    const { cursor, sent } = collect({}, { txid: 9n, changeId: 9n });
    cursor.goLive();
    cursor.offer(change(10, 10));
    cursor.offer(change(100, 100));
    expect(sent).toEqual(["10-10", "100-100"]);
  });

  it("sends only what the filter matches", () => {
    const { cursor, sent } = collect({ profileId: "user_2" });
    cursor.goLive();
    cursor.offer(change(1, 1, "PENDING", "user_1"));
    cursor.offer(change(2, 2, "PENDING", "user_2"));
    expect(sent).toEqual(["2-2"]);
  });
});

describe("matchesFilter", () => {
  it("matches on every filter given", () => {
    const c = change(1, 1, "PROCESSED", "user_1", "conv_a").change;
    expect(matchesFilter(c, {})).toBe(true);
    expect(matchesFilter(c, { profileId: "user_1", conversationId: "conv_a" })).toBe(true);
    expect(matchesFilter(c, { profileId: "user_1", conversationId: "conv_b" })).toBe(false);
    expect(matchesFilter(c, { profileId: "user_2" })).toBe(false);
  });
});
