import { describe, expect, it } from "vitest";
import { comparePositions, formatPosition, maxPosition, parseCursor } from "../../../src/http/stream/position.js";

describe("parseCursor (Last-Event-ID)", () => {
  it("accepts the positions the stream sends, <txid>-<change_id>", () => {
    expect(parseCursor("4711-1017")).toEqual({ txid: 4711n, changeId: 1017n });
    expect(parseCursor(" 0-0 ")).toEqual({ txid: 0n, changeId: 0n });
    expect(parseCursor("18446744073709551615-9223372036854775807"))
      .toEqual({ txid: 18_446_744_073_709_551_615n, changeId: 9_223_372_036_854_775_807n });
  });

  it("recognises ids from before the change log, which cannot be placed in its order", () => {
    expect(parseCursor("42:1017")).toBe("legacy");
    expect(parseCursor("1017")).toBe("legacy");
  });

  it("is undefined without a cursor and null for anything malformed", () => {
    expect(parseCursor(undefined)).toBeUndefined();
    expect(parseCursor("")).toBeUndefined();
    expect(parseCursor("abc")).toBeNull();
    expect(parseCursor("1-2-3")).toBeNull();
    expect(parseCursor("-5")).toBeNull();
    expect(parseCursor("18446744073709551616-1")).toBeNull();
    expect(parseCursor("1-9223372036854775808")).toBeNull();
  });

  it("round-trips what formatPosition writes", () => {
    const position = { txid: 123_456_789_012n, changeId: 42n };
    expect(parseCursor(formatPosition(position))).toEqual(position);
  });
});

describe("position order", () => {
  it("orders by transaction, then by change within it, numerically", () => {
    expect(comparePositions({ txid: 9n, changeId: 100n }, { txid: 10n, changeId: 1n })).toBeLessThan(0);
    expect(comparePositions({ txid: 10n, changeId: 9n }, { txid: 10n, changeId: 10n })).toBeLessThan(0);
    expect(comparePositions({ txid: 10n, changeId: 10n }, { txid: 10n, changeId: 10n })).toBe(0);
    expect(maxPosition({ txid: 10n, changeId: 2n }, { txid: 9n, changeId: 99n })).toEqual({ txid: 10n, changeId: 2n });
  });
});
