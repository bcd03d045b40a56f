-- Crash recovery. graphile-worker alone leaves a crashed worker's jobs locked
-- for 4 hours; Parley workers record a heartbeat, and this releases the jobs
-- of Parley's tasks held by a worker silent for longer than stale_after (or
-- one that died before its first heartbeat). Every worker runs it every few
-- seconds. Returns the ids of the workers it released.
create or replace function parley.release_dead_workers(stale_after interval) returns text[]
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  dead text[];
begin
  select coalesce(array_agg(distinct j.locked_by), '{}') into dead
  from graphile_worker.jobs j
  where j.locked_by is not null
    and j.locked_at < now() - stale_after
    and j.task_identifier in ('process_conversation', 'reconcile_events', 'close_idle_conversations')
    and not exists (
      select 1 from parley.worker_heartbeats h
      where h.worker_id = j.locked_by and h.last_seen_at >= now() - stale_after);

  delete from parley.worker_heartbeats h where h.last_seen_at < now() - stale_after;
  if cardinality(dead) > 0 then
    perform graphile_worker.force_unlock_workers(dead);
  end if;
  return dead;
end
$$;
