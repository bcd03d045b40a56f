// The input limits have one source, parley._limit (sql/_limits.sql); the zod schemas read
// LIMITS, its TypeScript copy. This fails when the two differ in a name or a value.
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { it } from "../support/database.js";
import { LIMITS } from "../../src/ingest/payloads.js";

it("LIMITS holds every limit parley._limit knows, with the same value", async ({ database }) => {
  const inSql = [...readFileSync("sql/_limits.sql", "utf8").matchAll(/when '(\w+)' then/g)].map((match) => match[1]!);
  expect(Object.keys(LIMITS).sort()).toEqual(inSql.sort());
  const { rows } = await database.pool.query<{ name: string; value: number }>(
    "select name, parley._limit(name) as value from unnest($1::text[]) as name", [Object.keys(LIMITS)]);
  expect(Object.fromEntries(rows.map((row) => [row.name, row.value]))).toEqual(LIMITS);
});
