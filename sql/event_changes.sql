-- Reading the change log (migrations/0004) in commit-safe order: by
-- (txid, change_id), and only rows of transactions older than every
-- transaction of this database still running: the horizon. A transaction
-- still running can only add rows at positions above it, so a reader that has
-- passed a position never sees a new row behind it: resuming "after position
-- P" is exact. A long-running write transaction in this database holds the
-- horizon back, and with it the stream (not the processing).

-- The horizon of the reader's snapshot: its oldest transaction still running,
-- or its xmax when none runs. A running transaction is passed over only when
-- PostgreSQL's activity table shows it, by its (32-bit) id, in another
-- database, where it cannot write this log; one it cannot place (a prepared
-- transaction, a session that has just ended) holds the horizon as any of
-- ours would. The activity table is read once per transaction, so every call
-- in one statement gives the same horizon.
create or replace function parley._change_horizon() returns xid8
language sql stable
as $$
  select coalesce(min(running.xid), pg_snapshot_xmax(pg_current_snapshot()))
  from pg_snapshot_xip(pg_current_snapshot()) as running(xid)
  where running.xid::text::bigint % 4294967296 not in (
    select elsewhere.backend_xid::text::bigint
    from pg_stat_get_activity(null) as elsewhere
    where elsewhere.backend_xid is not null
      and elsewhere.datid <> (select oid from pg_database where datname = current_database()))
$$;

-- The position a new reader starts from: everything before it is settled.
create or replace function parley.event_changes_head(out txid xid8, out change_id bigint)
language sql stable
as $$
  select parley._change_horizon(), 0::bigint
$$;

-- Changes after a position, oldest first, at most max_changes, optionally
-- for one profile and/or conversation, with each event's conversation and
-- profile. With latest_only, each event appears once, at its latest change
-- (a reader catching up wants where each event stands, not its history).
-- Changes of events deleted since (forget_user) are gone with them.
create or replace function parley.event_changes_after(
  after_txid xid8, after_change_id bigint, max_changes integer,
  profile_id text default null, conversation_id text default null, latest_only boolean default false)
returns table (txid xid8, change_id bigint, event_id bigint, conversation_id text, profile_id text, status text)
language sql stable
as $$
  select c.txid, c.change_id, c.event_id, e.conversation_id, e.profile_id, c.status
  from parley.event_changes c
  join parley.conversation_events e on e.event_id = c.event_id
  cross join (select parley._change_horizon() as horizon) settled
  where (c.txid, c.change_id) > (after_txid, after_change_id)
    and c.txid < settled.horizon
    and (event_changes_after.profile_id is null or e.profile_id = event_changes_after.profile_id)
    and (event_changes_after.conversation_id is null or e.conversation_id = event_changes_after.conversation_id)
    and (not latest_only or not exists (
      select 1 from parley.event_changes later
      where later.event_id = c.event_id
        and (later.txid, later.change_id) > (c.txid, c.change_id)
        and later.txid < settled.horizon))
  order by c.txid, c.change_id
  limit max_changes
$$;

-- Whether a reader at this position has missed changes that retention
-- pruned (sql/prune_event_changes.sql).
create or replace function parley.event_changes_expired(after_txid xid8, after_change_id bigint)
returns boolean
language sql stable
as $$
  select coalesce((select (after_txid, after_change_id) < (h.txid, h.change_id) from parley.event_changes_horizon h), false)
$$;
