// Input PostgreSQL refuses before parley.end_conversation runs. The payload
// parameter is jsonb: the server parses the JSON text while binding it, so a
// NUL character, a lone UTF-16 surrogate, nesting beyond the server's stack or
// a number beyond numeric's range fails the statement with PostgreSQL's own
// SQLSTATE (not 22023: the function never sees the payload). The statement
// fails as a whole, so nothing is written. README ("Hostile input") documents
// these codes; clients that want one code map them to invalid_payload.
import fc from "fast-check";
import { describe, expect } from "vitest";
import { it, type TestDatabase } from "../support/database.js";
import { payloadArb, payloadJson, type Json, type JsonObject } from "./arbitraries.js";
import { allCounts, PROPERTY_TIMEOUT, SHRINK_BUDGET, sqlFailure, storedConversation } from "./support.js";

const send = (database: TestDatabase, text: string) => database.pool.query("select parley.end_conversation($1::jsonb) as id", [text]);

/** Every place a string can sit in a payload: values at any depth, and object keys. */
function stringSlots(value: Json, path: Array<string | number> = []): Array<{ path: Array<string | number>; key: boolean }> {
  if (typeof value === "string") return [{ path, key: false }];
  if (Array.isArray(value)) return value.flatMap((item, index) => stringSlots(item, [...path, index]));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([key, item]) => [{ path: [...path, key], key: true }, ...stringSlots(item, [...path, key])]);
  }
  return [];
}

/** The payload with `bad` spliced into the string (value or key) at `slot`, at `offset`. */
function splice(payload: JsonObject, slot: { path: Array<string | number>; key: boolean }, offset: number, bad: string): Json {
  const copy = JSON.parse(JSON.stringify(payload)) as JsonObject;
  const parentPath = slot.path.slice(0, -1);
  const last = slot.path[slot.path.length - 1]!;
  let parent: Json = copy;
  for (const step of parentPath) parent = (parent as Record<string | number, Json>)[step]!;
  const container = parent as Record<string | number, Json>;
  // Between code points: splitting a surrogate pair would be a second fault.
  const insert = (text: string) => {
    const points = [...text];
    points.splice(offset % (points.length + 1), 0, bad);
    return points.join("");
  };
  if (slot.key) {
    const value = container[last]!;
    delete container[last];
    container[insert(String(last))] = value;
  } else {
    container[last] = insert(container[last] as string);
  }
  return copy;
}

const withBadCharacter = (bad: fc.Arbitrary<string>) =>
  payloadArb.chain((generated) => {
    const payload = payloadJson(generated);
    const slots = stringSlots(payload);
    return fc.tuple(fc.constant(payload), fc.constantFrom(...slots), fc.nat(), bad);
  });

describe("characters no PostgreSQL text can hold", () => {
  it("a NUL (\\u0000) anywhere in the payload fails with 22P05 from jsonb, and nothing is written", { timeout: PROPERTY_TIMEOUT }, async ({ database }) => {
    await fc.assert(
      fc.asyncProperty(withBadCharacter(fc.constant("\u0000")), async ([payload, slot, offset, bad]) => {
        const before = await allCounts(database.pool);
        // JSON.stringify, as every JSON encoder does, sends the escape \u0000.
        const failure = await sqlFailure(send(database, JSON.stringify(splice(payload, slot, offset, bad))));
        expect(failure).toMatchObject({ code: "22P05", message: "unsupported Unicode escape sequence" });
        expect(await allCounts(database.pool)).toEqual(before);
      }),
      { numRuns: 60, ...SHRINK_BUDGET },
    );
  });

  it("a lone UTF-16 surrogate anywhere fails with 22P02 from jsonb, and nothing is written", { timeout: PROPERTY_TIMEOUT }, async ({ database }) => {
    const lone = fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit));
    await fc.assert(
      fc.asyncProperty(withBadCharacter(lone), async ([payload, slot, offset, bad]) => {
        const text = JSON.stringify(splice(payload, slot, offset, bad));
        // One half added to well-formed text leaves the halves unmatched in
        // number, so at least one is alone wherever it lands; JSON.stringify
        // escapes a lone half rather than sending invalid UTF-8.
        expect(text).toMatch(/\\ud[89a-f][0-9a-f]{2}/);
        const before = await allCounts(database.pool);
        const failure = await sqlFailure(send(database, text));
        expect(failure).toMatchObject({ code: "22P02", message: "invalid input syntax for type json" });
        expect(await allCounts(database.pool)).toEqual(before);
      }),
      { numRuns: 60, ...SHRINK_BUDGET },
    );
  });

  it("a raw 0x00 byte in hand-written JSON text fails with 22021 (invalid UTF-8), and nothing is written", async ({ database }) => {
    const before = await allCounts(database.pool);
    const text = JSON.stringify(payloadJson(fc.sample(payloadArb, { seed: 1, numRuns: 1 })[0]!)).replace(/}$/, ',"metadata":{"a":"x\u0000y"}}');
    expect(await sqlFailure(send(database, text))).toMatchObject({ code: "22021" });
    expect(await allCounts(database.pool)).toEqual(before);
  });

  it("a raw lone surrogate in hand-written JSON text becomes U+FFFD in Node before it leaves the process", async ({ database }) => {
    // Node's UTF-8 encoder replaces it; PostgreSQL receives valid text. Parley
    // cannot tell, which is why clients should send JSON.stringify's output.
    const text = JSON.stringify({
      conversation_id: "raw_surrogate", profile_id: "u", bot_type: "TALK", bot_id: "b",
      start_time: "2025-11-25T18:00:00Z", end_time: "2025-11-25T18:20:00Z",
      conversation_log: [{ role: "user", content: "RAW" }],
    }).replace("RAW", "a\ud800b");
    await send(database, text);
    const stored = await storedConversation(database.pool, "raw_surrogate");
    expect(stored.messages[0]!.content).toBe("a\ufffdb");
  });
});

describe("JSON beyond what jsonb can parse", () => {
  const base = {
    conversation_id: "beyond", profile_id: "u", bot_type: "TALK", bot_id: "b",
    start_time: "2025-11-25T18:00:00Z", end_time: "2025-11-25T18:20:00Z",
    conversation_log: [{ role: "user", content: "hi" }],
  };
  const withMetadata = (metadata: string) => JSON.stringify(base).replace(/}$/, `,"metadata":${metadata}}`);

  it("nesting 100 000 deep (200 KB, under the 1 MiB limit) fails with 54001 stack depth, and nothing is written", async ({ database }) => {
    const before = await allCounts(database.pool);
    const failure = await sqlFailure(send(database, withMetadata(`{"a":${"[".repeat(100_000)}${"]".repeat(100_000)}}`)));
    expect(failure).toMatchObject({ code: "54001", message: "stack depth limit exceeded" });
    expect(await allCounts(database.pool)).toEqual(before);
  });

  it("a number beyond numeric's range fails with 22003, and nothing is written", async ({ database }) => {
    const before = await allCounts(database.pool);
    for (const number of ["1e131072", "1e-16384"]) {
      expect(await sqlFailure(send(database, withMetadata(`{"n":${number}}`)))).toMatchObject({ code: "22003" });
    }
    expect(await allCounts(database.pool)).toEqual(before);
  });
});
