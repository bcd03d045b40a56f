-- The body of the change-log triggers of migrations/0004: one row in
-- parley.event_changes per inserted event and per change of an event's
-- status, written by the statement that makes the change (a batch of events
-- costs one insert), and one NOTIFY on parley_events per transaction, carrying
-- its transaction id (PostgreSQL folds identical payloads of one transaction).
--
-- A transaction that notifies takes a database-wide lock at commit and holds
-- it until its commit is flushed, so notifying commits queue behind each
-- other; at hundreds of ingests a second, the worker's batches would wait in
-- that queue with their rows locked. The worker's transitions (claim,
-- complete, fail) therefore set parley.announce_after_commit, and the worker
-- sends the same notification itself once they committed
-- (src/worker/transitions.ts).
create or replace function parley._record_event_changes() returns trigger
language plpgsql
as $$
declare
  recorded bigint;
begin
  if tg_op = 'INSERT' then
    insert into parley.event_changes (event_id, status)
    select c.event_id, c.status from changed_rows c order by c.event_id;
  else
    insert into parley.event_changes (event_id, status)
    select c.event_id, c.status
    from changed_rows c join previous_rows p on p.event_id = c.event_id
    where c.status is distinct from p.status
    order by c.event_id;
  end if;
  get diagnostics recorded = row_count;
  if recorded > 0 and current_setting('parley.announce_after_commit', true) is distinct from 'on' then
    perform pg_notify('parley_events', pg_current_xact_id()::text);
  end if;
  return null;
end
$$;
