import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { formatSseComment, formatSseMessage, SseParser } from "../../src/http/sse.js";

describe("SSE wire format", () => {
  it("round-trips messages, multi-line data included, however the bytes are chunked", () => {
    fc.assert(fc.property(
      fc.array(fc.record({
        id: fc.stringMatching(/^[0-9]{1,5}:[0-9]{1,5}$/),
        data: fc.string({ maxLength: 40 }).filter((text) => !text.includes("\r")),
      }), { minLength: 1, maxLength: 5 }),
      fc.array(fc.nat(200), { maxLength: 6 }),
      (messages, cuts) => {
        const wire = messages.map((message) => formatSseMessage(message)).join(formatSseComment("keep-alive"));
        const parser = new SseParser();
        const points = [...new Set(cuts.map((cut) => cut % (wire.length + 1)))].sort((a, b) => a - b);
        const received = [];
        let from = 0;
        for (const point of [...points, wire.length]) {
          received.push(...parser.push(wire.slice(from, point)));
          from = point;
        }
        expect(received.map(({ id, data }) => ({ id, data }))).toEqual(messages);
      },
    ));
  });

  it("takes an id from a message without data, as EventSource does: the ready message sets the cursor", () => {
    const parser = new SseParser();
    const received = parser.push("retry: 2000\n\nid: 17\nevent: ready\ndata: {}\n\nid: 18\n\n");
    expect(received).toEqual([{ id: "17", event: "ready", data: "{}" }]);
    expect(parser.cursor).toBe("18");
  });

  it("handles CRLF line ends split across chunks and ignores comments", () => {
    const parser = new SseParser();
    expect(parser.push(": keep-alive\r\n\r\nid: 1:2\r")).toEqual([]);
    expect(parser.push("\ndata: x\r\n\r\n")).toEqual([{ id: "1:2", event: "message", data: "x" }]);
  });
});
