-- The body of the change-log triggers of migrations/0004: one row in
-- parley.event_changes per inserted event and per change of an event's
-- status, written by the statement that makes the change (a batch of events
-- costs one insert), and one NOTIFY on parley_events per transaction, carrying
-- its transaction id: PostgreSQL folds identical payloads of one transaction,
-- and delivers notifications in commit order.
create or replace function parley._record_event_changes() returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
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
  if recorded > 0 then
    perform pg_notify('parley_events', pg_current_xact_id()::text);
  end if;
  return null;
end
$$;
