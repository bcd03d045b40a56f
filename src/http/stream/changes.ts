// Reading the change log: what a change looks like on the stream, and the
// queries behind the hub and each client's catch-up (sql/event_changes.sql
// holds the order and the horizon).
import { sql } from "kysely";
import { z } from "zod";
import type { Db } from "../../db/pool.js";
import { EVENT_STATUSES } from "../../domain.js";
import { formatPosition, type Position } from "./position.js";

export const eventChangeSchema = z.object({
  event_id: z.string(),
  conversation_id: z.string(),
  profile_id: z.string(),
  status: z.enum(EVENT_STATUSES),
  /** "<txid>-<change_id>": the change's place in the log, also its SSE id. */
  position: z.string(),
}).meta({ id: "EventChange" });
export type EventChange = z.infer<typeof eventChangeSchema>;

/** A change with its position parsed, as the hub and cursors handle it. */
export interface PositionedChange {
  at: Position;
  change: EventChange;
}

export interface StreamFilter {
  profileId?: string | undefined;
  conversationId?: string | undefined;
}

export function matchesFilter(change: EventChange, filter: StreamFilter): boolean {
  return (filter.profileId === undefined || change.profile_id === filter.profileId)
    && (filter.conversationId === undefined || change.conversation_id === filter.conversationId);
}

export interface ChangesRead {
  changes: PositionedChange[];
  /** Every transaction of this database below this had finished when the read was made (sql/event_changes.sql). */
  horizon: bigint;
}

/**
 * Changes after `after` in log order, at most `limit`; with `latestOnly` each event once, at
 * its latest change. The horizon comes from the same snapshot as the rows.
 */
export async function readChanges(
  db: Db,
  after: Position,
  filter: StreamFilter,
  limit: number,
  latestOnly: boolean,
): Promise<ChangesRead> {
  const { rows } = await sql<{
    horizon: string;
    txid: string | null;
    change_id: string | null;
    event_id: string;
    conversation_id: string;
    profile_id: string;
    status: EventChange["status"];
  }>`
    select h.horizon, c.txid::text as txid, c.change_id::text as change_id, c.event_id::text as event_id,
           c.conversation_id, c.profile_id, c.status
    from (select txid::text as horizon from parley.event_changes_head()) h
    left join lateral parley.event_changes_after(
      ${after.txid.toString()}::xid8, ${after.changeId.toString()}::bigint, ${limit}::integer,
      ${filter.profileId ?? null}::text, ${filter.conversationId ?? null}::text, ${latestOnly}) c on true`.execute(db);
  const changes: PositionedChange[] = [];
  for (const row of rows) {
    if (row.txid === null || row.change_id === null) continue;
    const at = { txid: BigInt(row.txid), changeId: BigInt(row.change_id) };
    changes.push({
      at,
      change: {
        event_id: row.event_id,
        conversation_id: row.conversation_id,
        profile_id: row.profile_id,
        status: row.status,
        position: formatPosition(at),
      },
    });
  }
  return { changes, horizon: BigInt(rows[0]?.horizon ?? "0") };
}

/** Where a new reader starts: every change before it is settled. */
export async function readHead(db: Db): Promise<Position> {
  const { rows } = await sql<{ txid: string }>`select txid::text as txid from parley.event_changes_head()`.execute(db);
  return { txid: BigInt(rows[0]!.txid), changeId: 0n };
}

/** Whether retention pruned changes after `position` that a client there has not seen. */
export async function isExpired(db: Db, position: Position): Promise<boolean> {
  const { rows } = await sql<{ expired: boolean }>`
    select parley.event_changes_expired(${position.txid.toString()}::xid8, ${position.changeId.toString()}::bigint) as expired`.execute(db);
  return rows[0]?.expired ?? false;
}
