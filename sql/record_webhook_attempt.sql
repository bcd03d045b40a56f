-- Records one attempt of a delivery and moves the delivery on, in one
-- transaction: DELIVERED on success (error_code null); else, when the failure
-- is retryable and retry_schedule (seconds, PARLEY_WEBHOOK_RETRY_SCHEDULE) has
-- a wait left for this attempt, PENDING again with a job at the next time;
-- else FAILED. Returns the delivery's status, or null when the delivery is
-- gone or was finished meanwhile (then nothing is written).
create or replace function parley.record_webhook_attempt(
  delivery_id uuid,
  started_at timestamptz,
  duration_ms integer,
  http_status integer,
  error_code text,
  error_details text,
  retryable boolean,
  retry_schedule integer[]
) returns text
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  delivery parley.webhook_deliveries;
  attempt integer;
  wait_seconds integer;
  next_at timestamptz;
  new_status text;
begin
  select * into delivery from parley.webhook_deliveries d
  where d.delivery_id = record_webhook_attempt.delivery_id
  for update;
  if not found or delivery.status <> 'PENDING' then
    return null;
  end if;

  attempt := delivery.attempt_count + 1;
  insert into parley.webhook_delivery_attempts
    (delivery_id, attempt, status, http_status, error_code, error_details, started_at, duration_ms)
  values (delivery.delivery_id, attempt, case when error_code is null then 'DELIVERED' else 'FAILED' end,
          http_status, error_code, left(error_details, 1000), started_at, duration_ms);

  if error_code is null then
    new_status := 'DELIVERED';
  else
    wait_seconds := case when retryable then retry_schedule[attempt] end;
    new_status := case when wait_seconds is null then 'FAILED' else 'PENDING' end;
  end if;
  next_at := case when new_status = 'PENDING' then now() + make_interval(secs => wait_seconds) end;

  update parley.webhook_deliveries d
  set status = new_status,
      attempt_count = attempt,
      next_attempt_at = next_at,
      http_status = record_webhook_attempt.http_status,
      error_code = record_webhook_attempt.error_code,
      error_details = left(record_webhook_attempt.error_details, 1000),
      finished_at = case when new_status = 'PENDING' then null else now() end
  where d.delivery_id = delivery.delivery_id;

  if new_status = 'PENDING' then
    perform graphile_worker.add_jobs(array[parley._webhook_delivery_job(delivery.delivery_id, next_at)]);
  end if;
  return new_status;
end
$$;
