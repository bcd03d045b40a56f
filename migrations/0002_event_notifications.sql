-- The live event stream (GET /v1/events/stream): every insert of a
-- conversation event and every change of its status gets a change_seq and a
-- NOTIFY on channel parley_events, both at commit.
--
-- change_seq is assigned in COMMIT order, not statement order: a constraint
-- trigger deferred to commit takes one transaction-scoped advisory lock, draws
-- the number and notifies. The lock is held until the commit is visible, so
-- when a reader sees change_seq N, every change below N is already visible or
-- was rolled back. That makes "change_seq > cursor" an exact resume query for
-- a client that reconnects: no change can commit later with a smaller number.
-- The critical section is short and adds little: PostgreSQL already serialises
-- the commits of notifying transactions (graphile-worker's add_job notifies
-- too) on its own NOTIFY queue lock.
--
-- A row keeps only its latest change_seq, so a resumed client gets the current
-- state of every event that changed since its cursor, not each intermediate
-- status. Rows from before this migration have none and are never replayed.

create sequence parley.event_change_seq as bigint;

alter table parley.conversation_events add column change_seq bigint;

create unique index conversation_events_change_seq on parley.conversation_events (change_seq);

-- Security definer: the worker's role may update events but not draw from
-- Parley's sequences (sql/zz_grants.sql); the trigger runs as the owner.
create function parley._event_changed() returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  changed record;
begin
  -- Arbitrary, fixed: "parlev" in ASCII. Distinct from the migrator's lock.
  perform pg_advisory_xact_lock(123666094843254);
  update parley.conversation_events e
  set change_seq = nextval('parley.event_change_seq')
  where e.event_id = new.event_id
  returning e.event_id, e.conversation_id, e.profile_id, e.status, e.change_seq into changed;
  -- The row can be gone by commit (its conversation deleted in the same
  -- transaction): nothing to announce then.
  if found then
    perform pg_notify('parley_events', json_build_object(
      'event_id', changed.event_id::text,
      'conversation_id', changed.conversation_id,
      'profile_id', changed.profile_id,
      'status', changed.status,
      'change_seq', changed.change_seq::text)::text);
  end if;
  return null;
end
$$;

-- Setting change_seq does not touch status, so the update above does not fire
-- these triggers again.
create constraint trigger conversation_events_inserted
  after insert on parley.conversation_events
  deferrable initially deferred
  for each row execute function parley._event_changed();

create constraint trigger conversation_events_status_changed
  after update of status on parley.conversation_events
  deferrable initially deferred
  for each row
  when (old.status is distinct from new.status)
  execute function parley._event_changed();
