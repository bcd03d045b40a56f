-- Claim: PENDING (or PROCESSING with a lapsed lease) -> PROCESSING.
--
-- A worker takes up to max_events due events in one statement: the events in
-- `wanted` first (graphile-worker handed their jobs to this worker, whose
-- handlers wait for them), then the longest due. Each claimed event counts an
-- attempt, belongs to worker_id, and is leased until now() + lease: if the
-- worker dies, the heartbeat sweep (release_dead_workers) gives it back long
-- before that; the lease is the last resort against a worker that hangs.
--
-- A user's events stay in event_id order: an event is left for later while
-- an earlier unfinished event of the same user is due or being processed and
-- is not in this claim (an earlier event waiting for its retry does not hold
-- the later ones back: a failing event never blocks the rest). So one user's
-- events are never in two batches at once, and a batch applies them in order.
--
-- Returns, per claimed event, what processing needs in the same round trip:
-- its messages in order and its user's state (parley.user_states). Each
-- wanted event that is not claimed comes back too, with outcome `blocked`
-- (due, but behind an earlier event of its user or being claimed by another
-- worker right now: ask again shortly) or `not_due` (finished, gone, waiting
-- for a retry, or being processed by another worker: its job has nothing
-- left to do).
create or replace function parley.claim_events(
  worker_id text, max_events integer, lease interval, wanted bigint[] default '{}')
returns table (
  event_id bigint,
  outcome text,
  conversation_id text,
  profile_id text,
  attempt_count integer,
  created_at timestamptz,
  messages json,
  friendship json,
  recent_agent_ids text[])
language plpgsql
as $$
declare
  picked bigint[];
  claimable bigint[];
begin
  -- The worker announces this transaction's changes after commit (sql/_event_changes.sql).
  perform set_config('parley.announce_after_commit', 'on', true);
  -- A claim need not wait for its commit to reach the disk: a claim lost in
  -- a crash of PostgreSQL leaves its events PENDING, to be claimed again, and
  -- nothing else is written by it.
  perform set_config('synchronous_commit', 'off', true);
  if worker_id is null or max_events is null or max_events < 1 or lease is null or lease <= interval '0' then
    raise exception 'claim_events: worker_id, a positive max_events and a positive lease are required'
      using errcode = '22023';
  end if;

  select coalesce(array_agg(e.event_id), '{}') into picked
  from (
    select e.event_id from parley.conversation_events e
    where e.event_id = any(wanted)
      and e.status in ('PENDING', 'PROCESSING') and e.next_attempt_at <= now()
    order by e.event_id
    limit max_events
    for update skip locked
  ) e;

  if cardinality(picked) < max_events then
    picked := picked || array(
      select e.event_id from parley.conversation_events e
      where e.status in ('PENDING', 'PROCESSING') and e.next_attempt_at <= now()
        and e.event_id <> all(picked)
      order by e.next_attempt_at
      limit max_events - cardinality(picked)
      for update skip locked);
  end if;

  select coalesce(array_agg(e.event_id), '{}') into claimable
  from parley.conversation_events e
  where e.event_id = any(picked)
    and not exists (
      select 1 from parley.conversation_events earlier
      where earlier.profile_id = e.profile_id
        and earlier.event_id < e.event_id
        and earlier.status in ('PENDING', 'PROCESSING')
        and (earlier.status = 'PROCESSING' or earlier.next_attempt_at <= now())
        and earlier.event_id <> all(picked));

  return query
  with claimed as (
    update parley.conversation_events e
    set status = 'PROCESSING', attempt_count = e.attempt_count + 1, last_attempt_at = now(),
        next_attempt_at = now() + lease, claimed_by = claim_events.worker_id
    where e.event_id = any(claimable)
    returning e.event_id, e.conversation_id, e.profile_id, e.attempt_count, e.created_at
  )
  select c.event_id, 'claimed'::text, c.conversation_id, c.profile_id, c.attempt_count, c.created_at,
    coalesce((select json_agg(json_build_object('role', m.role, 'content', m.content) order by m.seq)
              from parley.messages m where m.conversation_id = c.conversation_id), '[]'::json),
    u.friendship, u.recent_agent_ids
  from claimed c
  join parley.user_states(array(select claimed.profile_id from claimed)) u on u.profile_id = c.profile_id
  union all
  select w.event_id,
    case when exists (
      select 1 from parley.conversation_events e
      where e.event_id = w.event_id and e.status in ('PENDING', 'PROCESSING') and e.next_attempt_at <= now())
    then 'blocked' else 'not_due' end,
    null, null, null, null, null, null, null
  from (select distinct x.event_id from unnest(wanted) as x(event_id)) w
  where w.event_id <> all(claimable)
  order by 1;
end
$$;
