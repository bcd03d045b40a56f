// Each test file gets a database of its own, cloned from the migrated template: the `database`
// fixture of `test` (and of `it`, the same), set up once per file on first use and dropped after
// the file's last test.
import { inject, test as base } from "vitest";
import pg from "pg";
import { randomBytes } from "node:crypto";
import { createDb, createPool, type Db } from "../../src/db/pool.js";
import { withDatabase } from "../../src/db/database-url.js";

export interface TestDatabase {
  url: string;
  pool: pg.Pool;
  db: Db;
  drop(): Promise<void>;
}

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject("adminUrl") });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const templateDatabase = inject("templateDatabase");
  const parentPid = templateDatabase.split("_").pop();
  const name = `parley_test_${parentPid}_${randomBytes(5).toString("hex")}`;
  // Cloning takes a lock on the template; files starting together take turns.
  await admin(async (client) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`create database ${name} template ${templateDatabase}`);
        return;
      } catch (error) {
        if (attempt >= 20 || !/being accessed by other users/.test((error as Error).message)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
      }
    }
  });
  const url = withDatabase(inject("adminUrl"), name);
  const pool = createPool(url, 10, "parley-test");
  const db = createDb(pool);
  return {
    url,
    pool,
    db,
    async drop() {
      await db.destroy();
      await admin((client) => client.query(`drop database if exists ${name} with (force)`));
    },
  };
}

export const test = base.extend("database", { scope: "file" }, async ({}, { onCleanup }) => {
  const database = await createTestDatabase();
  onCleanup(() => database.drop());
  return database;
});
export const it = test;
