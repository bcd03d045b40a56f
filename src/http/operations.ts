// What the operator's routes read (src/http/routes/operations.ts) and the shapes they answer
// with, for the dashboard and any other client. Counts and latency come from the SQL views
// (sql/pipeline_stats.sql, sql/pipeline_throughput.sql, sql/failures_by_code.sql), as they do
// for anyone reading them with psql.
import { sql } from "kysely";
import { z } from "zod";
import type { Db } from "../db/pool.js";
import { BOT_TYPES } from "../domain.js";
import { eventResultsFields } from "../event-results.js";
import { isoOrNull, numberOrNull } from "./queries.js";
import { dateTimeSchema as timestamp, eventStatusSchema as eventStatus } from "./route-schemas.js";

const seconds = z.number().nullable();

export const pipelineStatsSchema = z.object({
  pending: z.number().int(),
  processing: z.number().int(),
  processed: z.number().int(),
  failed: z.number().int(),
  oldest_pending_seconds: seconds.meta({ description: "Age of the oldest PENDING or PROCESSING event; null when there is none." }),
  processed_last_hour: z.number().int(),
  latency_seconds: z.object({ p50: seconds, p95: seconds, p99: seconds })
    .meta({ description: "Commit to PROCESSED over the last hour, retries included; null without a processed event." }),
  throughput: z.array(z.object({ minute: timestamp, processed: z.number().int() }))
    .meta({ description: "Events processed per minute over the last hour, oldest first; the last minute is the current one." }),
}).meta({ id: "PipelineStats" });
export type PipelineStats = z.infer<typeof pipelineStatsSchema>;

export const failedEventSchema = z.object({
  event_id: z.string(),
  conversation_id: z.string(),
  profile_id: z.string(),
  attempt_count: z.number().int(),
  created_at: timestamp,
  last_attempt_at: timestamp.nullable(),
  error_details: z.string().nullable(),
});

export const failuresSchema = z.object({
  failed: z.number().int().meta({ description: "FAILED events in all." }),
  groups: z.array(z.object({
    error_code: z.string().nullable(),
    events: z.number().int(),
    first_failed_at: timestamp.nullable(),
    last_failed_at: timestamp.nullable(),
    latest: z.array(failedEventSchema).meta({ description: "The newest events of the group, at most per_code." }),
  })).meta({ description: "One group per error_code, the most recent failure first." }),
}).meta({ id: "Failures" });
export type Failures = z.infer<typeof failuresSchema>;

export const failuresQuery = z.strictObject({
  per_code: z.coerce.number().int().min(1).max(100).default(10),
});

export const userEventsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(10),
});

export const userEventsSchema = z.object({
  profile_id: z.string(),
  events: z.array(z.object({
    event_id: z.string(),
    conversation_id: z.string(),
    bot_type: z.enum(BOT_TYPES),
    bot_id: z.string(),
    bot_name: z.string().nullable(),
    ended_at: timestamp.nullable(),
    status: eventStatus,
    attempt_count: z.number().int(),
    processed_at: timestamp.nullable(),
    error_code: z.string().nullable(),
    error_details: z.string().nullable(),
    ...eventResultsFields,
  })).meta({ description: "Newest first; the results (score change, level, features) are null until PROCESSED." }),
}).meta({ id: "UserEvents" });
export type UserEvents = z.infer<typeof userEventsSchema>;

export const streamTokenSchema = z.object({
  expires_at: timestamp,
}).meta({ id: "StreamToken" });

export async function readPipelineStats(db: Db): Promise<PipelineStats> {
  const [stats, throughput] = await Promise.all([
    db.selectFrom("parley.pipeline_stats").selectAll().executeTakeFirstOrThrow(),
    db.selectFrom("parley.pipeline_throughput").select(["minute", "processed"]).orderBy("minute").execute(),
  ]);
  return {
    pending: Number(stats.pending),
    processing: Number(stats.processing),
    processed: Number(stats.processed),
    failed: Number(stats.failed),
    oldest_pending_seconds: stats.oldest_pending_seconds,
    processed_last_hour: Number(stats.processed_last_hour),
    latency_seconds: { p50: stats.latency_p50_seconds, p95: stats.latency_p95_seconds, p99: stats.latency_p99_seconds },
    throughput: throughput.map((row) => ({ minute: row.minute.toISOString(), processed: Number(row.processed) })),
  };
}

export async function readFailures(db: Db, perCode: number): Promise<Failures> {
  const { rows } = await sql<{
    error_code: string | null; events: string; first_failed_at: Date | null; last_failed_at: Date | null;
    event_id: string; conversation_id: string; profile_id: string; attempt_count: number; created_at: Date;
    last_attempt_at: Date | null; error_details: string | null;
  }>`
    select f.error_code, f.events, f.first_failed_at, f.last_failed_at, e.*
    from parley.failures_by_code f
    cross join lateral (
      select e.event_id::text, e.conversation_id, e.profile_id, e.attempt_count, e.created_at, e.last_attempt_at, e.error_details
      from parley.conversation_events e
      where e.status = 'FAILED' and e.error_code is not distinct from f.error_code
      order by e.event_id desc
      limit ${perCode}
    ) e
    order by f.last_failed_at desc nulls last, f.error_code, e.event_id desc`.execute(db);
  const groups = new Map<string | null, Failures["groups"][number]>();
  for (const row of rows) {
    let group = groups.get(row.error_code);
    if (!group) {
      group = {
        error_code: row.error_code,
        events: Number(row.events),
        first_failed_at: isoOrNull(row.first_failed_at),
        last_failed_at: isoOrNull(row.last_failed_at),
        latest: [],
      };
      groups.set(row.error_code, group);
    }
    group.latest.push({
      event_id: row.event_id,
      conversation_id: row.conversation_id,
      profile_id: row.profile_id,
      attempt_count: row.attempt_count,
      created_at: row.created_at.toISOString(),
      last_attempt_at: isoOrNull(row.last_attempt_at),
      error_details: row.error_details,
    });
  }
  return { failed: [...groups.values()].reduce((sum, group) => sum + group.events, 0), groups: [...groups.values()] };
}

export async function readUserEvents(db: Db, profileId: string, limit: number): Promise<UserEvents> {
  const rows = await db
    .selectFrom("parley.conversation_events as e")
    .innerJoin("parley.conversations as c", "c.conversation_id", "e.conversation_id")
    .select([
      "e.event_id", "e.conversation_id", "c.bot_type", "c.bot_id", "c.bot_name", "c.ended_at", "e.status", "e.attempt_count",
      "e.processed_at", "e.error_code", "e.error_details", "e.friendship_score_change", "e.new_friendship_level", "e.total_turns",
      "e.user_initiated_questions", "e.topic_metrics", "e.session_emotion",
    ])
    .where("e.profile_id", "=", profileId)
    .orderBy("e.event_id", "desc")
    .limit(limit)
    .execute();
  return {
    profile_id: profileId,
    events: rows.map((row) => ({
      ...row,
      ended_at: isoOrNull(row.ended_at),
      processed_at: isoOrNull(row.processed_at),
      friendship_score_change: numberOrNull(row.friendship_score_change),
    })),
  };
}
