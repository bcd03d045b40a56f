// The event's state machine, as the worker calls it. Every transition is a
// SQL function in sql/ (claim_events, complete_events, fail_events,
// release_events); this file only passes arguments and reads rows back.
import type pg from "pg";
import type { FriendshipLevel, Message, TopicMetrics } from "../domain.js";

export type Queryable = Pick<pg.Pool | pg.PoolClient, "query">;

/** A user's state as stored; null for a user never seen. conversation_count is its version. */
export interface StoredFriendship {
  friendship_score: string | number;
  friendship_level: FriendshipLevel;
  topic_metrics: TopicMetrics;
  conversation_count: number;
}

export interface UserState {
  profile_id: string;
  friendship: StoredFriendship | null;
  recent_agent_ids: string[];
}

export interface ClaimedEvent extends UserState {
  event_id: string;
  conversation_id: string;
  attempt_count: number;
  created_at: Date;
  messages: Message[];
}

export interface Claim {
  /** The claim's transaction, to announce once it committed (announceChanges); null when it changed nothing. */
  txid: string | null;
  claimed: ClaimedEvent[];
  /** Wanted events that are due but must wait (behind an earlier event of their user, or being claimed elsewhere). */
  blocked: string[];
  /** Wanted events with nothing to do here: finished, gone, waiting for a retry, or being processed elsewhere. */
  notDue: string[];
}

export async function claimEvents(
  db: Queryable,
  workerId: string,
  maxEvents: number,
  leaseSeconds: number,
  wanted: readonly string[],
): Promise<Claim> {
  const { rows } = await db.query<ClaimedEvent & { outcome: "claimed" | "blocked" | "not_due"; txid: string }>({
    name: "parley_claim_events",
    text: `select event_id, outcome, conversation_id, profile_id, attempt_count, created_at, messages, friendship, recent_agent_ids,
                  pg_current_xact_id()::text as txid
           from parley.claim_events($1, $2, make_interval(secs => $3), $4::bigint[])`,
    values: [workerId, maxEvents, leaseSeconds, wanted],
  });
  const claim: Claim = { txid: null, claimed: [], blocked: [], notDue: [] };
  for (const row of rows) {
    if (row.outcome === "claimed") {
      claim.txid = row.txid;
      claim.claimed.push(row);
    } else if (row.outcome === "blocked") claim.blocked.push(row.event_id);
    else claim.notDue.push(row.event_id);
  }
  return claim;
}

export interface EventResult {
  event_id: string;
  profile_id: string;
  attempt: number;
  friendship_score_change: number;
  new_friendship_level: FriendshipLevel;
  total_turns: number;
  user_initiated_questions: number;
  topic_metrics: TopicMetrics;
  session_emotion: unknown;
  model: string;
  /** The conversation's vector as a real[] literal. */
  embedding: string;
  /** Text vectors new to parley.embedding_cache, written only if this event is. */
  cache: Array<{ hash: string; embedding: string }>;
}

export interface UserResult {
  profile_id: string;
  /** The conversation_count the result was computed from (null: no row then). */
  expected_count: number | null;
  friendship_score: number;
  friendship_level: FriendshipLevel;
  topic_metrics: TopicMetrics;
  last_event_id: string;
  candidates: unknown;
}

export type CompleteOutcome = "processed" | "already_done" | "conflict";

/** Outcomes by event, and the transaction that recorded them when it changed an event (to announce once committed); else null. */
export interface Recorded<T extends string> {
  outcomes: Map<string, T>;
  txid: string | null;
}

export async function completeEvents(
  db: Queryable,
  workerId: string,
  results: { events: EventResult[]; users: UserResult[] },
): Promise<Recorded<CompleteOutcome>> {
  const { rows } = await db.query<{ event_id: string; outcome: CompleteOutcome; txid: string }>({
    name: "parley_complete_events",
    text: "select event_id, outcome, pg_current_xact_id()::text as txid from parley.complete_events($1, $2::jsonb)",
    values: [workerId, JSON.stringify(results)],
  });
  return recorded(rows, (outcome) => outcome === "processed");
}

export interface EventFailure {
  event_id: string;
  attempt: number;
  error_code: string;
  error_details: string;
  /** null: not tried again (FAILED). */
  retry_in_seconds: number | null;
}

export type FailOutcome = "retry_scheduled" | "failed" | "already_done";

export async function failEvents(db: Queryable, workerId: string, failures: EventFailure[]): Promise<Recorded<FailOutcome>> {
  const { rows } = await db.query<{ event_id: string; outcome: FailOutcome; txid: string }>({
    name: "parley_fail_events",
    text: "select event_id, outcome, pg_current_xact_id()::text as txid from parley.fail_events($1, $2::jsonb)",
    values: [workerId, JSON.stringify(failures)],
  });
  return recorded(rows, (outcome) => outcome !== "already_done");
}

/** Outcomes by event; the transaction only when some outcome changed an event (there is something to announce). */
function recorded<T extends string>(rows: Array<{ event_id: string; outcome: T; txid: string }>, changed: (outcome: T) => boolean): Recorded<T> {
  return {
    outcomes: new Map(rows.map((row) => [row.event_id, row.outcome])),
    txid: rows.find((row) => changed(row.outcome))?.txid ?? null,
  };
}

/** Gives back claimed events; `eventIds` null: every event the worker holds but `except`. */
export async function releaseEvents(
  db: Queryable,
  workerId: string,
  eventIds: readonly string[] | null,
  except: readonly string[] = [],
): Promise<number> {
  const { rows } = await db.query<{ released: number }>({
    name: "parley_release_events",
    text: "select parley.release_events($1, $2::bigint[], $3::bigint[]) as released",
    values: [workerId, eventIds, except],
  });
  return rows[0]?.released ?? 0;
}

export async function readUserStates(db: Queryable, profileIds: readonly string[]): Promise<Map<string, UserState>> {
  const { rows } = await db.query<UserState>({
    name: "parley_user_states",
    text: "select profile_id, friendship, recent_agent_ids from parley.user_states($1::text[])",
    values: [profileIds],
  });
  return new Map(rows.map((row) => [row.profile_id, row]));
}
