// `npm run migrate` is safe to run again and from several processes at once.
import { afterAll, expect, it } from "vitest";
import { inject } from "vitest";
import pg from "pg";
import { migrate } from "../../src/db/migrate.js";
import { withDatabase } from "../../src/db/database-url.js";

const adminUrl = inject("adminUrl");
const name = `parley_test_${process.pid}_migrate_${Date.now()}`;
const url = withDatabase(adminUrl, name);

async function admin(query: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(query);
  } finally {
    await client.end();
  }
}

afterAll(async () => {
  await admin(`drop database if exists ${name} with (force)`);
});

it("migrations run concurrently from several processes, then again, without error", async () => {
  await admin(`create database ${name}`);
  const results = await Promise.all([migrate(url), migrate(url), migrate(url)]);
  // Exactly one run applied the migrations; the others found them applied.
  expect(results.filter((result) => result.applied.length > 0)).toHaveLength(1);
  expect((await migrate(url)).applied).toEqual([]);

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query("select count(*)::int as n from parley.agent_catalog");
    expect(rows[0].n).toBeGreaterThan(0);
    const { rows: functions } = await client.query(
      "select proname from pg_proc where pronamespace = 'parley'::regnamespace and proname not like '\\_%' order by proname");
    expect(functions.map((row) => row.proname)).toEqual(expect.arrayContaining([
      "append_messages", "close_conversation", "end_conversation", "retry_event", "start_conversation",
    ]));
    const { rows: graphile } = await client.query("select to_regproc('graphile_worker.add_job') is not null as installed");
    expect(graphile[0].installed).toBe(true);
  } finally {
    await client.end();
  }
});
