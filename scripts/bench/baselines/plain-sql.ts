// Plain SQL writes of the same rows Parley stores (conversation, messages,
// event), without Parley's functions or queue: what the baselines write with.
// Arrays go in through unnest(), the fastest plain multi-row INSERT from node-pg
// (one statement and one round trip, whatever the row count).
import type pg from "pg";
import { toRows, type Payload } from "../payloads.js";

const INSERT_MANY = `
with conversation as (
  insert into parley.conversations
    (conversation_id, profile_id, bot_type, bot_id, bot_name, started_at, ended_at, is_active, message_count, metadata)
  select id, profile, bot_type, bot_id, bot_name, started, ended, false, message_count, metadata
  from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::int[], $9::jsonb[])
    as c(id, profile, bot_type, bot_id, bot_name, started, ended, message_count, metadata)
), message as (
  insert into parley.messages (conversation_id, seq, role, content, sent_at)
  select * from unnest($10::text[], $11::int[], $12::text[], $13::text[], $14::timestamptz[])
)
insert into parley.conversation_events (conversation_id, profile_id, created_at)
select id, profile, coalesce(created, now())
from unnest($1::text[], $2::text[], $15::timestamptz[]) as e(id, profile, created)
returning event_id`;

/**
 * The same rows plus each event's graphile-worker job, still one statement:
 * the floor under end_conversation (rows, and the job it queues), without its
 * validation, idempotency or change log.
 */
const INSERT_MANY_WITH_JOBS = INSERT_MANY.replace(/\ninsert into parley\.conversation_events([\s\S]*)returning event_id$/, `
, event as (
  insert into parley.conversation_events$1returning event_id
), job as (
  select from graphile_worker.add_jobs(array(
    select row('process_conversation', json_build_object('event_id', event.event_id), null, null, 25,
               'parley:event:' || event.event_id, null, null)::graphile_worker.job_spec
    from event))
)
select event.event_id from event where (select count(*) from job) >= 0`);

/**
 * Inserts the conversations, their messages and PENDING events in one
 * statement (with `withJobs`, each event's graphile-worker job too); returns the event ids. `createdAt` overrides the events' created_at (the memory queue
 * records when it acknowledged a conversation, not when it flushed it).
 */
export async function insertConversations(
  client: pg.Pool | pg.PoolClient | pg.Client,
  payloads: readonly Payload[],
  createdAt?: readonly Date[],
  options: { withJobs?: boolean } = {},
): Promise<string[]> {
  const columns = {
    id: [] as string[], profile: [] as string[], botType: [] as string[], botId: [] as string[], botName: [] as string[],
    start: [] as string[], end: [] as string[], count: [] as number[], metadata: [] as string[],
    messageConversation: [] as string[], seq: [] as number[], role: [] as string[], content: [] as string[], sentAt: [] as string[],
  };
  for (const payload of payloads) {
    const rows = toRows(payload);
    const [id, profile, botType, botId, botName, start, end, count, metadata] = rows.conversation;
    columns.id.push(id);
    columns.profile.push(profile);
    columns.botType.push(botType);
    columns.botId.push(botId);
    columns.botName.push(botName);
    columns.start.push(start);
    columns.end.push(end);
    columns.count.push(count);
    columns.metadata.push(metadata);
    for (let i = 0; i < rows.messages.seq.length; i++) {
      columns.messageConversation.push(id);
      columns.seq.push(rows.messages.seq[i]!);
      columns.role.push(rows.messages.role[i]!);
      columns.content.push(rows.messages.content[i]!);
      columns.sentAt.push(rows.messages.sentAt[i]!);
    }
  }
  const { rows } = await client.query<{ event_id: string }>({
    name: options.withJobs ? "bench_insert_conversations_jobs" : "bench_insert_conversations",
    text: options.withJobs ? INSERT_MANY_WITH_JOBS : INSERT_MANY,
    values: [
      columns.id, columns.profile, columns.botType, columns.botId, columns.botName, columns.start, columns.end,
      columns.count, columns.metadata, columns.messageConversation, columns.seq, columns.role, columns.content,
      columns.sentAt, createdAt ? createdAt.map((date) => date.toISOString()) : payloads.map(() => null),
    ],
  });
  return rows.map((row) => row.event_id);
}
