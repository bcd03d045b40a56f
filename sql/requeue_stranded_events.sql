-- Requeue: the reconciler's safety net. Gives a job again to unfinished, due
-- events that have none (rows inserted by other writers, jobs deleted by hand
-- or dead after graphile-worker's own attempts ran out, a claim whose lease
-- lapsed). Returns how many it re-queued.
create or replace function parley.requeue_stranded_events(batch_size integer default 1000) returns integer
language plpgsql
as $$
declare
  stranded bigint[];
begin
  select coalesce(array_agg(s.event_id), '{}') into stranded
  from (
    select e.event_id from parley.conversation_events e
    where e.status in ('PENDING', 'PROCESSING')
      and e.next_attempt_at <= now()
      and not exists (
        select 1 from graphile_worker.jobs j
        where j.key = 'parley:event:' || e.event_id
          and j.attempts < j.max_attempts)
    order by e.next_attempt_at
    limit batch_size
    for update of e skip locked
  ) s;
  if cardinality(stranded) > 0 then
    perform parley._enqueue_events(stranded, null);
  end if;
  return cardinality(stranded);
end
$$;
