-- The graphile-worker job that sends one webhook delivery: its one home, used
-- by the trigger that queues deliveries and by the attempt that schedules a
-- retry. The payload is the delivery id alone, never data about a user: the
-- task reads the rest from parley.webhook_messages and does nothing when the
-- row is gone (the user forgotten, the webhook removed).
--
-- Deliveries run in a graphile-worker pool of their own, whose task list is
-- deliver_webhook alone (src/worker/runner.ts), so they need no priority
-- against processing. There is no named queue per webhook: graphile-worker
-- only looks for the next job of a busy queue at its next poll, which would
-- delay a delivery that follows another to the same URL by up to the poll
-- interval. The job key lets a retry replace the job, remove_webhook find it,
-- and the reconciler (parley.requeue_stranded_webhook_deliveries) see it.
create or replace function parley._webhook_delivery_job(delivery_id uuid, run_at timestamptz) returns graphile_worker.job_spec
language sql
immutable
as $$
  select row(
    'deliver_webhook',
    json_build_object('delivery_id', delivery_id),
    null,
    run_at,
    25,
    'parley:webhook_delivery:' || delivery_id,
    null,
    null
  )::graphile_worker.job_spec
$$;
