-- Records the outcome of a delivery's attempt, the PENDING row of
-- parley.webhook_deliveries with that number, and moves the delivery on, in
-- one transaction: DELIVERED on success (error_code null); else FAILED, and
-- when the failure is retryable and retry_schedule (seconds,
-- PARLEY_WEBHOOK_RETRY_SCHEDULE) has a wait left for this attempt, the next
-- attempt PENDING with a job at its time. Returns the delivery's status
-- afterwards (PENDING when a retry is scheduled), or null when that attempt
-- is not waiting any more (the delivery gone, or the attempt recorded by
-- another run of the job): then nothing is written.
create or replace function parley.record_webhook_attempt(
  delivery_id uuid,
  attempt integer,
  attempted_at timestamptz,
  duration_ms integer,
  http_status integer,
  error_code text,
  error_details text,
  retryable boolean,
  retry_schedule integer[]
) returns text
language plpgsql
as $$
declare
  wait_seconds integer;
  next_at timestamptz;
begin
  update parley.webhook_deliveries d
  set status = case when record_webhook_attempt.error_code is null then 'DELIVERED' else 'FAILED' end,
      http_status = record_webhook_attempt.http_status,
      error_code = record_webhook_attempt.error_code,
      error_details = left(record_webhook_attempt.error_details, 1000),
      attempted_at = record_webhook_attempt.attempted_at,
      duration_ms = record_webhook_attempt.duration_ms
  where d.delivery_id = record_webhook_attempt.delivery_id
    and d.attempt = record_webhook_attempt.attempt
    and d.status = 'PENDING';
  if not found then
    return null;
  end if;
  if error_code is null then
    return 'DELIVERED';
  end if;

  wait_seconds := case when retryable then retry_schedule[attempt] end;
  if wait_seconds is null then
    return 'FAILED';
  end if;
  next_at := now() + make_interval(secs => wait_seconds);
  insert into parley.webhook_deliveries (delivery_id, attempt, scheduled_at)
  values (record_webhook_attempt.delivery_id, record_webhook_attempt.attempt + 1, next_at);
  perform graphile_worker.add_jobs(array[parley._webhook_delivery_job(record_webhook_attempt.delivery_id, next_at)]);
  return 'PENDING';
end
$$;
