-- Fail: PROCESSING -> PENDING with a retry scheduled, or -> FAILED.
--
-- `failures`: [{event_id, attempt, error_code, error_details, retry_in_seconds}],
-- retry_in_seconds null for an event that is not to be tried again. The
-- worker decides with the retry policy (src/pipeline/backoff.ts); this
-- records the decision, for events still claimed by worker_id at that
-- attempt, in one transaction: a retry waits at next_attempt_at with a fresh
-- job due then; a FAILED event's waiting job goes. Others are already_done.
--
-- Returns one row per event: retry_scheduled, failed or already_done.
create or replace function parley.fail_events(worker_id text, failures jsonb)
returns table (event_id bigint, outcome text)
language plpgsql
as $$
declare
  ours bigint[];
  retried bigint[];
  failed bigint[];
  retry record;
begin
  -- The worker announces this transaction's changes after commit (sql/_event_changes.sql).
  perform set_config('parley.announce_after_commit', 'on', true);
  select coalesce(array_agg(c.event_id) filter (where c.ours), '{}') into ours
  from parley._lock_claims(fail_events.worker_id, failures) c;

  with decided as (
    update parley.conversation_events e
    set status = case when f.retry_in_seconds is null then 'FAILED' else 'PENDING' end,
        next_attempt_at = case when f.retry_in_seconds is null then e.next_attempt_at
                               else now() + make_interval(secs => f.retry_in_seconds) end,
        claimed_by = null, error_code = f.error_code, error_details = f.error_details
    from jsonb_to_recordset(failures) as f(
      event_id bigint, error_code text, error_details text, retry_in_seconds double precision)
    where e.event_id = f.event_id and e.event_id = any(ours)
    returning e.event_id, e.status
  )
  select coalesce(array_agg(d.event_id) filter (where d.status = 'PENDING'), '{}'),
         coalesce(array_agg(d.event_id) filter (where d.status = 'FAILED'), '{}')
  into retried, failed
  from decided d;

  -- One job per retry, due when its event is; grouped by due time so that a
  -- batch failing together (an embedder outage) adds its jobs in one call.
  for retry in
    select e.next_attempt_at, array_agg(e.event_id order by e.event_id) as event_ids
    from parley.conversation_events e where e.event_id = any(retried)
    group by e.next_attempt_at
  loop
    perform parley._enqueue_events(retry.event_ids, retry.next_attempt_at);
  end loop;
  perform parley._complete_jobs_of(failed);

  return query
  select f.event_id,
         case when f.event_id = any(retried) then 'retry_scheduled'
              when f.event_id = any(failed) then 'failed'
              else 'already_done' end
  from jsonb_to_recordset(failures) as f(event_id bigint)
  order by f.event_id;
end
$$;
