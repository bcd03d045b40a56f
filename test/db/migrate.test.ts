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
    // The sample catalog migrations/0001_initial.sql seeds: 4 greeting, 9 talk and 7 game agents.
    const { rows } = await client.query("select agent_type, count(*)::int as n from parley.agent_catalog group by 1 order by 1");
    expect(rows).toEqual([{ agent_type: "GAME_ACTIVITY", n: 7 }, { agent_type: "GREETING", n: 4 }, { agent_type: "TALK", n: 9 }]);
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
