-- The reconciler's safety net for webhook deliveries, beside
-- requeue_stranded_events: gives a job again to each delivery whose waiting
-- attempt is due and has no live job (the job deleted by hand, or dead after
-- graphile-worker's own attempts ran out while the database was away, or run
-- early and done). The reconcile_events cron task runs both. Returns how many
-- it re-queued.
create or replace function parley.requeue_stranded_webhook_deliveries(batch_size integer default 1000) returns integer
language plpgsql
as $$
declare
  stranded uuid[];
begin
  select coalesce(array_agg(s.delivery_id), '{}') into stranded
  from (
    select d.delivery_id from parley.webhook_deliveries d
    where d.status = 'PENDING'
      and d.scheduled_at <= now()
      and not exists (
        select 1 from graphile_worker.jobs j
        where j.key = 'parley:webhook_delivery:' || d.delivery_id
          and j.attempts < j.max_attempts)
    order by d.scheduled_at
    limit batch_size
    for update of d skip locked
  ) s;
  if cardinality(stranded) > 0 then
    perform graphile_worker.add_jobs(array(
      select parley._webhook_delivery_job(q.delivery_id, null) from unnest(stranded) as q(delivery_id)));
  end if;
  return cardinality(stranded);
end
$$;
