// What the database says after a scenario, in plain SQL an operator could run:
// the fate of every acknowledged conversation, and whether any event reached
// friendship_status twice.
import type pg from "pg";
import type { EventTimes } from "./report.js";

export interface Outcome {
  acknowledged: number;
  processed: number;
  failedAsDesigned: number;
  failedOtherwise: number;
  missing: number;
  unfinished: number;
}

/**
 * `designed`: the error_codes with which an event may end FAILED in this
 * scenario, once it used all `maxAttempts` attempts.
 */
export async function outcome(client: pg.Pool, acknowledged: string[], designed: string[], maxAttempts: number): Promise<Outcome> {
  const { rows } = await client.query<Outcome>(`
    select count(*)::int as acknowledged,
           count(*) filter (where e.status = 'PROCESSED')::int as processed,
           count(*) filter (where e.status = 'FAILED' and e.error_code = any($2) and e.attempt_count >= $3)::int as "failedAsDesigned",
           count(*) filter (where e.status = 'FAILED' and not (e.error_code = any($2) and e.attempt_count >= $3))::int as "failedOtherwise",
           count(*) filter (where e.event_id is null)::int as missing,
           count(*) filter (where e.status in ('PENDING', 'PROCESSING'))::int as unfinished
    from unnest($1::text[]) as acked(conversation_id)
    left join parley.conversation_events e using (conversation_id)`, [acknowledged, designed, maxAttempts]);
  return rows[0]!;
}

export interface Ledger {
  /** Events applied more than once: per user, conversation_count beyond its PROCESSED events. */
  doubleCounted: number;
  /** Users whose friendship_score differs from the sum of their PROCESSED events' friendship_score_change. */
  scoreMismatches: number;
  /** Users with PROCESSED events and no friendship_status row, or the reverse. */
  orphans: number;
}

export async function ledger(client: pg.Pool): Promise<Ledger> {
  const { rows } = await client.query<Ledger>(`
    with applied as (
      select profile_id, count(*) as processed, sum(friendship_score_change) as change
      from parley.conversation_events where status = 'PROCESSED' group by profile_id
    )
    select coalesce(sum(greatest(f.conversation_count - a.processed, 0)), 0)::int as "doubleCounted",
           count(*) filter (where abs(f.friendship_score - a.change) > 1e-6)::int as "scoreMismatches",
           count(*) filter (where f.profile_id is null or a.profile_id is null)::int as orphans
    from parley.friendship_status f full join applied a using (profile_id)`);
  return rows[0]!;
}

/** Commit and finish time of every event, for recovery after each fault. */
export async function eventTimes(client: pg.Pool): Promise<EventTimes[]> {
  const { rows } = await client.query<{ created: string; finished: string | null }>(`
    select (extract(epoch from created_at) * 1000)::float8 as created,
           (extract(epoch from case status when 'PROCESSED' then processed_at when 'FAILED' then last_attempt_at end) * 1000)::float8 as finished
    from parley.conversation_events`);
  return rows.map((row) => ({ created: Number(row.created), finished: row.finished === null ? null : Number(row.finished) }));
}
