-- Worker v2: events are claimed in batches by worker processes, and the live
-- change stream becomes an append-only log instead of a second write of every
-- event row under one global lock (what 0002 did).

-- A PROCESSING event belongs to the worker process that claimed it; its
-- next_attempt_at is the end of that claim's lease. A crashed worker's claims
-- are released by the heartbeat sweep (sql/release_dead_workers.sql).
alter table parley.conversation_events add column claimed_by text;

-- The claim keeps a user's events in event_id order: an event waits while an
-- earlier unfinished event of the same user is due or being processed. This
-- index answers "earlier unfinished events of this user" without reading the
-- user's finished history.
create index conversation_events_unfinished_by_profile on parley.conversation_events (profile_id, event_id)
  where status in ('PENDING', 'PROCESSING');

-- One heartbeat row per worker process; its graphile-worker pool (which
-- changes when the pool restarts after a database outage) is recorded so that
-- jobs locked by a pool of a live process are never released.
alter table parley.worker_heartbeats add column pool_id text;

-- 0002's change stream goes: its trigger updated each event row a second time
-- under an advisory lock shared by every writer.
drop trigger conversation_events_inserted on parley.conversation_events;
drop trigger conversation_events_status_changed on parley.conversation_events;
drop function parley._event_changed();
drop index parley.conversation_events_change_seq;
alter table parley.conversation_events drop column change_seq;
drop sequence parley.event_change_seq;

-- Every insert of an event and every change of its status, appended at the
-- statement that makes it (sql/_event_changes.sql). Readers go in
-- (txid, change_id) order and only read rows whose transaction is older than
-- every transaction still running (pg_snapshot_xmin), so a row can never
-- appear behind a position a reader has already passed: that order is exact
-- for resuming, with no lock shared by writers. change_id orders the rows of
-- one transaction.
create table parley.event_changes (
  txid       xid8 not null default pg_current_xact_id(),
  change_id  bigint generated always as identity,
  event_id   bigint not null,
  status     text not null,
  changed_at timestamptz not null default now(),
  primary key (txid, change_id)
);

-- forget_user deletes a user's entries, and a resumed stream finds each
-- event's latest change, by event.
create index event_changes_event on parley.event_changes (event_id, txid desc, change_id desc);

-- The newest position pruned by retention (sql/prune_event_changes.sql): a
-- client resuming from before it has missed changes and is told so.
create table parley.event_changes_horizon (
  singleton  boolean primary key default true check (singleton),
  txid       xid8 not null,
  change_id  bigint not null,
  pruned_at  timestamptz not null default now()
);

-- The trigger function's body lives in sql/_event_changes.sql (re-applied on
-- every migrate); the triggers, which lock the table to create, live here.
create function parley._record_event_changes() returns trigger
language plpgsql
as $$
begin
  return null;
end
$$;

create trigger conversation_events_inserted
  after insert on parley.conversation_events
  referencing new table as changed_rows
  for each statement execute function parley._record_event_changes();

create trigger conversation_events_status_changed
  after update on parley.conversation_events
  referencing old table as previous_rows new table as changed_rows
  for each statement execute function parley._record_event_changes();
