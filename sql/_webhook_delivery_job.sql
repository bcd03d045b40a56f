-- The graphile-worker job that sends one webhook delivery: its one home, used
-- by the trigger that queues deliveries and by the attempt that schedules a
-- retry. The payload is the delivery id alone, never data about a user: the
-- task reads the rest from parley.webhook_deliveries and does nothing when the
-- row is gone (the user forgotten, the webhook removed).
--
-- Each webhook has its own named queue, so its deliveries run one at a time:
-- an endpoint that hangs holds at most one worker slot, never all of them. The
-- job key lets a retry replace the job, and remove_webhook find it.
create or replace function parley._webhook_delivery_job(
  delivery_id uuid, webhook_id bigint, run_at timestamptz
) returns graphile_worker.job_spec
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  select row(
    'deliver_webhook',
    json_build_object('delivery_id', delivery_id),
    'parley:webhook:' || webhook_id,
    run_at,
    25,
    'parley:webhook_delivery:' || delivery_id,
    null,
    null
  )::graphile_worker.job_spec
$$;
