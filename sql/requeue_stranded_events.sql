-- The reconciler: re-queues unfinished, due events that have no live job
-- (rows inserted by other writers, jobs deleted by hand or dead after
-- graphile-worker's own attempts ran out). Returns how many it re-queued.
create or replace function parley.requeue_stranded_events(batch_size integer default 1000) returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  stranded_event_id bigint;
  requeued integer := 0;
begin
  for stranded_event_id in
    select e.event_id from parley.conversation_events e
    where e.status in ('PENDING', 'PROCESSING')
      and e.next_attempt_at <= now()
      and not exists (
        select 1 from graphile_worker._private_jobs j
        where j.key = 'parley:event:' || e.event_id
          and j.attempts < j.max_attempts)
    order by e.next_attempt_at
    limit batch_size
    for update of e skip locked
  loop
    perform parley._enqueue(stranded_event_id, null);
    requeued := requeued + 1;
  end loop;
  return requeued;
end
$$;
