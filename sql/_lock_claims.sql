-- The first step of complete_events and fail_events: lock the rows of the
-- events a worker reports on, in the order given (the worker sends them by
-- event_id, so concurrent workers and forget_user lock in one order), and say
-- of each whether it is still this worker's claim at the attempt it claimed.
-- `claims` is a JSON array of {event_id, attempt, profile_id?}. An event that
-- is gone (forget_user) is not ours; its profile_id is the caller's.
create or replace function parley._lock_claims(worker_id text, claims jsonb)
returns table (event_id bigint, profile_id text, ours boolean)
language sql
as $$
  select c.event_id, c.profile_id,
         coalesce(e.status = 'PROCESSING' and e.claimed_by = _lock_claims.worker_id and e.attempt_count = c.attempt, false)
  from rows from (jsonb_to_recordset(claims) as (event_id bigint, profile_id text, attempt integer))
    with ordinality as c(event_id, profile_id, attempt, at)
  left join lateral (
    select ev.status, ev.claimed_by, ev.attempt_count
    from parley.conversation_events ev where ev.event_id = c.event_id
    for update
  ) e on true
  order by c.at
$$;
