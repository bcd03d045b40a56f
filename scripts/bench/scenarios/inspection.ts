// Scenario 5: the queries people run to inspect the pipeline, on a database
// holding many events (a million in the full run). The data is generated
// set-based in SQL (insert ... select from generate_series), mostly PROCESSED,
// with a tail of PENDING and a sprinkle of FAILED events.
import type pg from "pg";
import { createPool } from "../../../src/db/pool.js";
import type { BenchContext } from "../context.js";
import type { DesignId } from "../design.js";

interface Query {
  name: string;
  design: DesignId;
  text: string;
  /** Parameters from a random generated user and conversation. */
  params?: (ids: { user: string; conversation: string }) => unknown[];
}

const QUERIES: readonly Query[] = [
  { name: "pipeline_stats", design: "parley", text: "select * from parley.pipeline_stats" },
  {
    name: "a user's history (last 20)",
    design: "parley",
    text: `select e.event_id, e.status, e.processed_at, e.friendship_score_change, c.bot_id, c.started_at
           from parley.conversation_events e join parley.conversations c using (conversation_id)
           where e.profile_id = $1 order by e.event_id desc limit 20`,
    params: ({ user }) => [user],
  },
  {
    name: "pending lookup (oldest 100 due)",
    design: "parley",
    text: `select event_id, conversation_id, status, next_attempt_at from parley.conversation_events
           where status in ('PENDING', 'PROCESSING') and next_attempt_at <= now()
           order by next_attempt_at limit 100`,
  },
  {
    name: "failed events (latest 100)",
    design: "parley",
    text: `select event_id, conversation_id, error_code, error_details from parley.conversation_events
           where status = 'FAILED' order by event_id desc limit 100`,
  },
  {
    name: "one conversation and its messages",
    design: "parley",
    text: `select c.conversation_id, c.profile_id, c.started_at, m.seq, m.role, m.content
           from parley.conversations c join parley.messages m using (conversation_id)
           where c.conversation_id = $1 order by m.seq`,
    params: ({ conversation }) => [conversation],
  },
  {
    name: "a user's friendship status",
    design: "parley",
    text: "select * from parley.friendship_status where profile_id = $1",
    params: ({ user }) => [user],
  },
  {
    name: "the poller's query (PENDING, oldest 500)",
    design: "polling-1s",
    text: `select event_id from parley.conversation_events
           where (status = 'PENDING' and next_attempt_at <= now())
              or (status = 'PROCESSING' and last_attempt_at < now() - interval '30 seconds')
           order by event_id limit 500`,
  },
];

export async function runInspection(context: BenchContext): Promise<void> {
  const { plan, results } = context;
  const events = plan.inspectionEvents;
  const users = Math.max(10, Math.round(events / 20));
  if (events < 1_000_000) {
    results.note(`Scenario 5 ran on ${events.toLocaleString("en-US")} events (--quick); the full run uses 1,000,000.`);
  }
  const url = await context.databases.clone("inspect");
  const pool = createPool(url, 2, "parley-bench-inspect");
  try {
    context.progress(`5. inspection: generating ${events.toLocaleString("en-US")} events for ${users.toLocaleString("en-US")} users`);
    const started = performance.now();
    await generateEvents(pool, events, users);
    const seconds = (performance.now() - started) / 1000;
    results.note(`Scenario 5's ${events.toLocaleString("en-US")} events (with their conversations and 2 messages each) were generated set-based in ${seconds.toFixed(1)} s, then vacuumed and analysed.`);

    let seed = context.seed;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (const query of QUERIES) {
      context.progress(`5. inspection: ${query.name} x ${plan.inspectionRepeats}`);
      const ids = () => ({
        user: `gen_user_${Math.floor(random() * users)}`,
        conversation: `gen_${1 + Math.floor(random() * events)}`,
      });
      const latencies: number[] = [];
      for (let i = 0; i < plan.inspectionRepeats + 2; i++) {
        const params = query.params?.(ids()) ?? [];
        const t = performance.now();
        await pool.query(query.text, params);
        // The first two runs warm the cache and are not counted.
        if (i >= 2) latencies.push(performance.now() - t);
      }
      const scanned = await scans(pool, query.text, query.params?.(ids()) ?? []);
      results.distribution("inspection", query.name, query.design, latencies, scanned);
    }
    results.value("inspection", "pending work visible to SQL", "", "higher", "memory-queue", null,
      "no: what is not flushed lives in the app's memory");
  } finally {
    await pool.end();
    await context.databases.drop(url);
  }
}

/** Inserts `events` events (and their conversations, 2 messages each) for `users` users, set-based. */
export async function generateEvents(pool: pg.Pool, events: number, users: number): Promise<void> {
  const client = await pool.connect();
  try {
    // Trusted generated rows: skip the foreign-key triggers where allowed
    // (a superuser); elsewhere the checks just make generation slower.
    await client.query("set session_replication_role = replica").catch(() => {});
    const pending = Math.min(1000, Math.floor(events / 100));
    await client.query(`
      insert into parley.conversations
        (conversation_id, profile_id, bot_type, bot_id, bot_name, started_at, ended_at, is_active, message_count, last_activity_at, metadata, created_at)
      select 'gen_' || g, 'gen_user_' || (g % $2), (array['TALK', 'GREETING', 'GAME_ACTIVITY'])[1 + g % 3],
             'talk_movie_preference', 'Movie Preference Talk',
             t - interval '20 minutes', t, false, 2, t, '{}', t
      from generate_series(1, $1::int) g, lateral (select now() - make_interval(secs => ($1 - g) * 2) as t) at`, [events, users]);
    await client.query(`
      insert into parley.messages (conversation_id, seq, role, content, sent_at)
      select 'gen_' || g, s, case s when 1 then 'agent' else 'user' end,
             'generated message ' || s || ' of conversation ' || g, now() - make_interval(secs => ($1 - g) * 2)
      from generate_series(1, $1::int) g, generate_series(1, 2) s`, [events]);
    await client.query(`
      insert into parley.conversation_events
        (conversation_id, profile_id, status, attempt_count, next_attempt_at, created_at, last_attempt_at, processed_at,
         friendship_score_change, new_friendship_level, total_turns, user_initiated_questions, error_code, error_details)
      select 'gen_' || g, 'gen_user_' || (g % $2), state.status,
             case state.status when 'PENDING' then 0 when 'FAILED' then 5 else 1 end,
             t, t,
             case when state.status = 'PENDING' then null else t + interval '5 ms' end,
             case when state.status = 'PROCESSED' then t + interval '40 ms' end,
             case when state.status = 'PROCESSED' then 0.5 end,
             case when state.status = 'PROCESSED' then 'PHASE1_STRANGER' end,
             case when state.status = 'PROCESSED' then 2 end,
             case when state.status = 'PROCESSED' then 0 end,
             case when state.status = 'FAILED' then 'empty_conversation' end,
             case when state.status = 'FAILED' then 'the conversation has no messages to process' end
      from generate_series(1, $1::int) g,
           lateral (select now() - make_interval(secs => ($1 - g) * 2) as t) at,
           lateral (select case when g > $1 - $3 then 'PENDING' when g % 200 = 0 then 'FAILED' else 'PROCESSED' end as status) state`,
      [events, users, pending]);
    await client.query(`
      insert into parley.friendship_status (profile_id, friendship_score, friendship_level, conversation_count)
      select 'gen_user_' || u, 20 * random(), 'PHASE1_STRANGER', 20 from generate_series(0, $1::int - 1) u`, [users]);
    await client.query("reset session_replication_role");
    await client.query("vacuum (analyze) parley.conversations, parley.messages, parley.conversation_events, parley.friendship_status");
  } finally {
    client.release();
  }
}

/** The plan's scan nodes in a few words ("Index Scan on conversation_events_profile, ..."), for the record. */
async function scans(pool: pg.Pool, text: string, params: unknown[]): Promise<string> {
  const { rows } = await pool.query<{ "QUERY PLAN": Array<{ Plan: PlanNode }> }>(`explain (format json) ${text}`, params);
  const found: string[] = [];
  const walk = (node: PlanNode) => {
    if (/Scan/.test(node["Node Type"])) {
      found.push(`${node["Node Type"]}${node["Index Name"] ? ` ${node["Index Name"]}` : node["Relation Name"] ? ` ${node["Relation Name"]}` : ""}`);
    }
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(rows[0]!["QUERY PLAN"][0]!.Plan);
  return [...new Set(found)].join(", ");
}

interface PlanNode {
  "Node Type": string;
  "Index Name"?: string;
  "Relation Name"?: string;
  Plans?: PlanNode[];
}
