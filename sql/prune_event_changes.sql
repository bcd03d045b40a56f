-- Retention of the change log: deletes, oldest first, at most batch_size
-- changes older than older_than, and records how far it went (a stream
-- client resuming from before that is told it missed changes). The worker's
-- cron calls it again while it returns batch_size, one short transaction each.
-- Returns how many it deleted.
create or replace function parley.prune_event_changes(older_than interval, batch_size integer default 10000)
returns bigint
language plpgsql
as $$
declare
  last_old record;
  deleted bigint;
begin
  -- The end of the oldest run of changes that are all old enough.
  select s.txid, s.change_id into last_old
  from (
    select c.txid, c.change_id,
           bool_and(c.changed_at < now() - older_than) over (order by c.txid, c.change_id) as old
    from (select c.txid, c.change_id, c.changed_at from parley.event_changes c
          order by c.txid, c.change_id limit batch_size) c
  ) s
  where s.old
  order by s.txid desc, s.change_id desc
  limit 1;
  if not found then
    return 0;
  end if;

  delete from parley.event_changes c where (c.txid, c.change_id) <= (last_old.txid, last_old.change_id);
  get diagnostics deleted = row_count;
  insert into parley.event_changes_horizon as h (txid, change_id)
  values (last_old.txid, last_old.change_id)
  on conflict (singleton) do update set txid = excluded.txid, change_id = excluded.change_id, pruned_at = now()
  where (h.txid, h.change_id) < (excluded.txid, excluded.change_id);
  return deleted;
end
$$;
