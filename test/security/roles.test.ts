// Least privilege, proved as each role: parley_app only calls the write
// functions; parley_reader only reads; parley_worker runs the whole worker
// (as a login role that is a member of it, the way README tells operators to
// set it up) and nothing more.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, inject } from "vitest";
import { createDb, createPool } from "../../src/db/pool.js";
import { QUEUE_COUNTS_SQL } from "../../src/metrics/registry.js";
import { HashingEmbedder } from "../../src/embed/hashing.js";
import { EmbeddingError, type Embedder } from "../../src/embed/embedder.js";
import type { TestDatabase } from "../support/database.js";
import { it } from "../support/worker.js";
import { conversationPayload, waitFor } from "../support/fixtures.js";
import { startReceiver } from "../webhooks/receiver.js";

const WRITE_FUNCTIONS = [
  "parley.add_webhook(text,text,text[])",
  "parley.append_messages(text,jsonb)",
  "parley.close_conversation(text)",
  "parley.end_conversation(jsonb)",
  "parley.remove_webhook(bigint)",
  "parley.retry_event(bigint)",
  "parley.start_conversation(jsonb)",
];
/** A user's memory and data: parley_app and parley_reader search and export; only parley_app forgets. */
const USER_DATA_READ_FUNCTIONS = [
  "parley.export_user(text)",
  "parley.export_user_conversations(text,text,integer)",
  "parley.export_user_profile(text)",
  "parley.search_conversations(text,text,integer,real[],jsonb)",
];
const APP_FUNCTIONS = [...WRITE_FUNCTIONS, ...USER_DATA_READ_FUNCTIONS, "parley.forget_user(text)"].sort();
const WORKER_FUNCTIONS = [
  "parley.apply_retention(interval,integer)",
  "parley.claim_events(text,integer,interval,bigint[])",
  "parley.close_idle_conversations(interval,integer)",
  "parley.complete_events(text,jsonb)",
  "parley.fail_events(text,jsonb)",
  "parley.prune_event_changes(interval,integer)",
  "parley.record_webhook_attempt(uuid,integer,timestamp with time zone,integer,integer,text,text,boolean,integer[])",
  "parley.release_dead_workers(interval)",
  "parley.release_events(text,bigint[],bigint[])",
  "parley.requeue_stranded_events(integer)",
  "parley.requeue_stranded_webhook_deliveries(integer)",
  "parley.retry_event(bigint)",
  "parley.user_states(text[])",
  "parley.webhook_delivery_to_send(uuid)",
];
const READER_FUNCTIONS = [
  "parley.event_changes_after(xid8,bigint,integer,text,text,boolean)",
  "parley.event_changes_expired(xid8,bigint)",
  "parley.event_changes_head()",
];
/** Tables parley_reader reads only some columns of: all but these. */
const HIDDEN_COLUMNS: Record<string, string[]> = { webhooks: ["secret"] };
/** What src/worker does to each table; anything else must be refused. Events and users change only through the state machine's functions. */
const WORKER_TABLES: Record<string, string[]> = {
  agent_catalog: ["SELECT"],
  conversation_events: ["SELECT"],
  embedding_cache: ["INSERT", "SELECT"],
  pipeline_stats: ["SELECT"],
  worker_heartbeats: ["DELETE", "INSERT", "SELECT", "UPDATE"],
};
const TABLE_PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"];

let functions: Array<{ name: string; call: string; secdef: boolean; config: string[] | null; returnsTrigger: boolean }>;
let tables: string[];
let views: Set<string>;

it.beforeAll(async ({ database }) => {
  const found = await database.pool.query<{ name: string; args: string; secdef: boolean; config: string[] | null; returns_trigger: boolean }>(`
    select p.oid::regprocedure::text as name,
           coalesce((select string_agg(format('null::%s', format_type(t, null)), ', ' order by i)
                     from unnest(p.proargtypes) with ordinality as a(t, i)), '') as args,
           p.prosecdef as secdef, p.proconfig as config, p.prorettype = 'trigger'::regtype as returns_trigger
    from pg_proc p where p.pronamespace = 'parley'::regnamespace order by 1`);
  functions = found.rows.map((row) => ({
    name: row.name,
    call: `select ${row.name.slice(0, row.name.indexOf("("))}(${row.args})`,
    secdef: row.secdef,
    config: row.config,
    returnsTrigger: row.returns_trigger,
  }));
  const relations = await database.pool.query<{ name: string; view: boolean }>(
    "select relname as name, relkind = 'v' as view from pg_class where relnamespace = 'parley'::regnamespace and relkind in ('r', 'v', 'm') order by 1");
  tables = relations.rows.map((row) => row.name);
  views = new Set(relations.rows.filter((row) => row.view).map((row) => row.name));
  const columns = await database.pool.query<{ table: string; column: string }>(
    `select distinct on (table_name) table_name as table, column_name as column from information_schema.columns
     where table_schema = 'parley' and is_identity = 'NO' and is_generated = 'NEVER' order by table_name, ordinal_position`);
  firstColumn = Object.fromEntries(columns.rows.map((row) => [row.table, row.column]));
});

/** Runs `body` on one connection as `role`, then gives the connection back as it was. */
async function as<T>(database: TestDatabase, role: string, body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await database.pool.connect();
  try {
    await client.query(`set role ${role}`);
    return await body(client);
  } finally {
    await client.query("reset role").catch(() => {});
    client.release();
  }
}

async function denied(client: pg.PoolClient, text: string): Promise<string | undefined> {
  await client.query("savepoint probe");
  try {
    await client.query(text);
    return "allowed";
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    return code === "42501" ? undefined : `${code}: ${message}`;
  } finally {
    await client.query("rollback to savepoint probe");
  }
}

/** Statements that must each be refused with 42501: the ones that were not, with what happened instead. */
async function leaks(client: pg.PoolClient, statements: string[]): Promise<Array<[string, string]>> {
  await client.query("begin");
  try {
    const found: Array<[string, string]> = [];
    for (const statement of statements) {
      const outcome = await denied(client, statement);
      if (outcome !== undefined) found.push([statement, outcome]);
    }
    return found;
  } finally {
    await client.query("rollback");
  }
}

let firstColumn: Record<string, string>;
// Views are not writable by anyone; the catalog test shows no role holds a write privilege on one.
const writesTo = (table: string) => views.has(table) ? [] : [
  `insert into parley.${table} default values`,
  `update parley.${table} set ${firstColumn[table]} = ${firstColumn[table]} where false`,
  `delete from parley.${table} where false`,
  `truncate parley.${table}`,
];

describe("the catalog", () => {
  it("every function in schema parley pins search_path to pg_catalog, pg_temp, and PUBLIC may execute none", async ({ database }) => {
    expect(functions.length).toBeGreaterThan(10);
    for (const fn of functions) expect(fn.config, fn.name).toEqual(["search_path=pg_catalog, pg_temp"]);
    const { rows } = await database.pool.query<{ name: string }>(`
      select p.oid::regprocedure::text as name from pg_proc p
      cross join lateral aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) as acl
      where p.pronamespace = 'parley'::regnamespace and acl.grantee = 0 and acl.privilege_type = 'EXECUTE'`);
    expect(rows).toEqual([]);
  });

  it("each role may execute exactly its functions, and those run as their owner (security definer)", async ({ database }) => {
    const bulk = functions.some((fn) => fn.name === "parley.end_conversations(jsonb)") ? ["parley.end_conversations(jsonb)"] : [];
    const { rows } = await database.pool.query<{ name: string; app: boolean; worker: boolean; reader: boolean }>(`
      select p.oid::regprocedure::text as name,
             has_function_privilege('parley_app', p.oid, 'EXECUTE') as app,
             has_function_privilege('parley_worker', p.oid, 'EXECUTE') as worker,
             has_function_privilege('parley_reader', p.oid, 'EXECUTE') as reader
      from pg_proc p where p.pronamespace = 'parley'::regnamespace order by 1`);
    expect(rows.filter((row) => row.app).map((row) => row.name)).toEqual([...APP_FUNCTIONS, ...bulk].sort());
    expect(rows.filter((row) => row.worker).map((row) => row.name)).toEqual(WORKER_FUNCTIONS);
    expect(rows.filter((row) => row.reader).map((row) => row.name)).toEqual([...READER_FUNCTIONS, ...USER_DATA_READ_FUNCTIONS].sort());
    for (const name of [...APP_FUNCTIONS, ...bulk]) expect(functions.find((fn) => fn.name === name)?.secdef, name).toBe(true);
  });

  it("a function runs as its owner (security definer) exactly when a role may execute it or it is a trigger function, with search_path pg_catalog, pg_temp", async ({ database }) => {
    const { rows } = await database.pool.query<{ name: string }>(`
      select p.oid::regprocedure::text as name from pg_proc p
      where p.pronamespace = 'parley'::regnamespace
        and (p.prorettype = 'trigger'::regtype
          or has_function_privilege('parley_app', p.oid, 'EXECUTE')
          or has_function_privilege('parley_worker', p.oid, 'EXECUTE')
          or has_function_privilege('parley_reader', p.oid, 'EXECUTE'))`);
    const names = new Set(rows.map((row) => row.name));
    for (const name of [...APP_FUNCTIONS, ...WORKER_FUNCTIONS, ...READER_FUNCTIONS]) expect(names, name).toContain(name);
    expect(functions.filter((fn) => fn.returnsTrigger).length).toBeGreaterThan(0);
    for (const fn of functions) {
      expect({ secdef: fn.secdef, config: fn.config }, fn.name).toEqual({ secdef: names.has(fn.name), config: ["search_path=pg_catalog, pg_temp"] });
    }
  });

  it("grants each role exactly its table privileges", async ({ database }) => {
    const { rows } = await database.pool.query<{ role: string; table: string; privilege: string }>(`
      select r.role, c.relname as table, p.privilege
      from (values ('parley_app'), ('parley_worker'), ('parley_reader')) as r(role)
      cross join pg_class c
      cross join unnest($1::text[]) as p(privilege)
      where c.relnamespace = 'parley'::regnamespace and c.relkind in ('r', 'v', 'm', 'S')
        and has_table_privilege(r.role, c.oid, p.privilege)
      order by 1, 2, 3`, [TABLE_PRIVILEGES]);
    const held = (role: string) => {
      const map: Record<string, string[]> = {};
      for (const row of rows.filter((r) => r.role === role)) (map[row.table] ??= []).push(row.privilege);
      return map;
    };
    expect(held("parley_app")).toEqual({});
    expect(held("parley_reader")).toEqual(Object.fromEntries(tables.filter((table) => !HIDDEN_COLUMNS[table]).map((table) => [table, ["SELECT"]])));
    expect(held("parley_worker")).toEqual(WORKER_TABLES);
  });
});

describe("parley_app", () => {
  it("ends, starts, appends to and closes conversations through the functions", async ({ database }) => {
    await as(database, "parley_app", async (client) => {
      const payload = conversationPayload();
      const ended = await client.query<{ id: string }>("select parley.end_conversation($1) as id", [JSON.stringify(payload)]);
      expect(ended.rows[0]!.id).toMatch(/^\d+$/);
      const started = await client.query<{ id: string }>("select parley.start_conversation($1) as id",
        [JSON.stringify({ profile_id: "app_user", bot_type: "TALK", bot_id: "talk_music_taste" })]);
      const id = started.rows[0]!.id;
      const appended = await client.query<{ n: number }>("select parley.append_messages($1, $2) as n", [id, JSON.stringify([{ role: "user", content: "hi" }])]);
      expect(appended.rows[0]!.n).toBe(1);
      const closed = await client.query<{ id: string }>("select parley.close_conversation($1) as id", [id]);
      const retried = await client.query<{ retried: boolean }>("select parley.retry_event($1) as retried", [closed.rows[0]!.id]);
      expect(retried.rows[0]!.retried).toBe(false);
    });
  });

  it("searches, exports and forgets a user through the functions", async ({ database }) => {
    await as(database, "parley_app", async (client) => {
      const payload = conversationPayload({ profile_id: "app_forget_user" });
      await client.query("select parley.end_conversation($1)", [JSON.stringify(payload)]);
      const found = await client.query("select conversation_id from parley.search_conversations('app_forget_user', 'dune')");
      expect(found.rows).toEqual([{ conversation_id: payload.conversation_id }]);
      const exported = await client.query<{ doc: { conversations: unknown[] } }>("select parley.export_user('app_forget_user') as doc");
      expect(exported.rows[0]!.doc.conversations).toHaveLength(1);
      const forgotten = await client.query<{ counts: { conversations: number } }>("select parley.forget_user('app_forget_user') as counts");
      expect(forgotten.rows[0]!.counts.conversations).toBe(1);
    });
  });

  it("cannot read or change any parley table, call an internal function, or reach graphile-worker's queue", async ({ database }) => {
    const internal = functions.filter((fn) => !APP_FUNCTIONS.includes(fn.name) && fn.name !== "parley.end_conversations(jsonb)" && !fn.returnsTrigger);
    expect(internal.map((fn) => fn.name)).toContain("parley._enqueue(bigint,timestamp with time zone)");
    const statements = [
      ...tables.flatMap((table) => [`select 1 from parley.${table} limit 1`, ...writesTo(table)]),
      ...internal.map((fn) => fn.call),
      "select graphile_worker.add_job('process_conversation', '{\"event_id\": 1}')",
      "select 1 from graphile_worker.jobs limit 1",
      "select nextval('parley.conversation_events_event_id_seq')",
    ];
    expect(await as(database, "parley_app", (client) => leaks(client, statements))).toEqual([]);
  });
});

describe("parley_reader", () => {
  it("reads every table and view, but no webhook's secret", async ({ database }) => {
    await as(database, "parley_reader", async (client) => {
      for (const table of tables.filter((name) => !HIDDEN_COLUMNS[name])) await client.query(`select * from parley.${table} limit 1`);
      await client.query("select webhook_id, url, events, created_at from parley.webhooks limit 1");
      expect(await leaks(client, ["select secret from parley.webhooks", "select * from parley.webhooks"])).toEqual([]);
      const stats = await client.query("select pending from parley.pipeline_stats");
      expect(stats.rows).toHaveLength(1);
    });
  });

  it("cannot write, call a function, or see the queue", async ({ database }) => {
    const statements = [
      ...tables.flatMap(writesTo),
      ...functions.filter((fn) => !fn.returnsTrigger && !READER_FUNCTIONS.includes(fn.name) && !USER_DATA_READ_FUNCTIONS.includes(fn.name)).map((fn) => fn.call),
      "select 1 from graphile_worker.jobs limit 1",
    ];
    expect(await as(database, "parley_reader", (client) => leaks(client, statements))).toEqual([]);
  });

  it("searches and exports a user's data, but cannot forget it", async ({ database }) => {
    await as(database, "parley_reader", async (client) => {
      await client.query("select * from parley.search_conversations('someone', 'words')");
      const exported = await client.query<{ doc: { profile_id: string } }>("select parley.export_user('someone') as doc");
      expect(exported.rows[0]!.doc.profile_id).toBe("someone");
      await client.query("select * from parley.export_user_conversations('someone')");
      expect(await leaks(client, ["select parley.forget_user('someone')", "select parley.apply_retention('1 day')"])).toEqual([]);
    });
  });
});

describe("parley_worker", () => {
  const login = `parley_test_worker_${randomBytes(5).toString("hex")}`;
  const password = randomBytes(12).toString("hex");
  let pool: pg.Pool;

  it.beforeAll(async ({ database }) => {
    await database.pool.query(`create role ${login} login password '${password}' in role parley_worker`);
    const url = new URL(database.url);
    url.username = login;
    url.password = password;
    pool = createPool(url.toString(), 8, "parley-test-worker-role");
  });
  afterAll(async () => {
    await pool?.end();
    // Roles outlive databases: drop ours even if the test failed.
    const admin = new pg.Client({ connectionString: inject("adminUrl") });
    await admin.connect();
    await admin.query(`drop role if exists ${login}`).finally(() => admin.end());
  });

  it("runs the worker end to end as a login role in parley_worker: processes, retries, closes idle conversations", { timeout: 60_000 }, async ({ database, startWorker }) => {
    const { rows: [who] } = await pool.query<{ user: string; superuser: string }>("select current_user as user, current_setting('is_superuser') as superuser");
    expect(who).toEqual({ user: login, superuser: "off" });

    // Fails the first attempt of the event that carries the marker (its
    // batch's call and the worker's call for that event alone, a moment
    // later), so that the retry path runs as the worker's role.
    let failures = 0;
    let firstFailure: number | undefined;
    const hashing = new HashingEmbedder();
    const embedder: Embedder = {
      model: hashing.model,
      dimension: hashing.dimension,
      async embed(texts) {
        const marked = texts.some((text) => text.includes("fail once"));
        if (marked && (firstFailure === undefined || Date.now() - firstFailure < 300)) {
          firstFailure ??= Date.now();
          failures++;
          throw new EmbeddingError("injected failure", { retryable: true });
        }
        return hashing.embed(texts);
      },
    };
    const worker = await startWorker({ env: { PARLEY_RETRY_SCHEDULE: "1s" }, pool, embedder, pollInterval: 200, noWait: true });

    const app = async (text: string, params: unknown[]) =>
      as(database, "parley_app", async (client) => (await client.query<{ id: string }>(text, params)).rows[0]!.id);
    const plain = await app("select parley.end_conversation($1) as id", [JSON.stringify(conversationPayload())]);
    const flaky = await app("select parley.end_conversation($1) as id", [JSON.stringify(conversationPayload({
      conversation_log: [{ role: "user", content: "please fail once, then work" }],
    }))]);
    const idle = await app("select parley.start_conversation($1) as id", [JSON.stringify({ profile_id: "idle_user", bot_type: "TALK", bot_id: "talk_music_taste" })]);
    await app("select parley.append_messages($1, $2)::text as id", [idle, JSON.stringify([{ role: "user", content: "anyone there?" }])]);

    // The worker's cron tasks and metrics query, as the worker's role.
    expect((await pool.query("select parley.close_idle_conversations(interval '0 seconds') as closed")).rows[0]!.closed).toBe(1);
    await pool.query("select parley.requeue_stranded_events()");
    await pool.query("select parley.requeue_stranded_webhook_deliveries()");
    await pool.query("select parley.release_dead_workers(interval '30 seconds')");
    await pool.query("select parley.apply_retention(interval '90 days')");
    await pool.query(QUEUE_COUNTS_SQL, [30]);
    await pool.query("select * from parley.pipeline_stats");

    const db = createDb(database.pool);
    const settled = await waitFor(async () => {
      const events = await db.selectFrom("parley.conversation_events").select(["event_id", "status", "attempt_count"]).orderBy("event_id").execute();
      // Events left by the parley_app tests above are this worker's to process too.
      return events.length >= 3 && events.every((event) => event.status === "PROCESSED") ? events : undefined;
    }, 30_000, 100);
    const attempts = Object.fromEntries(settled.map((event) => [event.event_id, event.attempt_count]));
    const closedIdle = await db.selectFrom("parley.conversation_events").select("event_id").where("conversation_id", "=", idle).executeTakeFirst();
    expect(closedIdle && attempts[closedIdle.event_id]).toBe(1);
    expect(attempts[plain]).toBe(1);
    expect(attempts[flaky]).toBe(2);
    expect(failures).toBeGreaterThanOrEqual(1);
    const heartbeats = await db.selectFrom("parley.worker_heartbeats").select("worker_id").execute();
    expect(heartbeats.map((row) => row.worker_id)).toContain(await worker.workerId);
  });

  it("delivers webhooks as a login role in parley_worker, to a subscription parley_app made", { timeout: 30_000 }, async ({ database, startWorker }) => {
    const receiver = await startReceiver();
    try {
      await startWorker({ env: { PARLEY_WEBHOOK_ALLOW_PRIVATE: "true" }, pool, pollInterval: 200, noWait: true });
      const app = async (text: string, params: unknown[]) =>
        as(database, "parley_app", async (client) => (await client.query<{ id: string }>(text, params)).rows[0]!.id);
      const webhookId = await app("select parley.add_webhook($1, $2)::text as id", [receiver.url, "roles-test-secret-0123"]);
      const eventId = await app("select parley.end_conversation($1) as id", [JSON.stringify(conversationPayload())]);
      const db = createDb(database.pool);
      await waitFor(() => db.selectFrom("parley.webhook_messages").innerJoin("parley.webhook_deliveries as d", "d.delivery_id", "parley.webhook_messages.delivery_id")
        .select("d.status").where("event_id", "=", eventId).where("d.status", "=", "DELIVERED").executeTakeFirst(), 20_000, 100);
      expect(receiver.requests.map((request) => JSON.parse(request.body).event_id)).toEqual([eventId]);
      expect(await app("select parley.remove_webhook($1)::text as id", [webhookId])).toBe("true");
    } finally {
      await receiver.close();
    }
  });

  it("cannot write conversations or messages, call the write functions, or delete events", async () => {
    const probes = [
      "insert into parley.conversations default values",
      "update parley.conversations set bot_id = bot_id where false",
      "delete from parley.messages where false",
      "delete from parley.conversation_events where false",
      "insert into parley.conversation_events default values",
      "delete from parley.friendship_status where false",
      "update parley.conversation_events set status = status where false",
      "update parley.friendship_status set friendship_score = friendship_score where false",
      "update parley.embedding_cache set model = model where false",
      "update graphile_worker.migrations set id = id where false",
      "select parley.end_conversation('{}')",
      "select parley._queue_event(null, null)",
      "select parley._append_messages(null, null, null)",
      "select nextval('parley.conversation_events_event_id_seq')",
    ];
    const client = await pool.connect();
    try {
      expect(await leaks(client, probes)).toEqual([]);
    } finally {
      client.release();
    }
  });
});
