-- Release: PROCESSING -> PENDING, due now, for events a worker claimed and
-- gives back without a verdict (it lost the database mid-batch, or could not
-- record a user's result). The attempt is given back too, as graphile-worker
-- does for jobs it returns. Each released event gets a job again, so a worker
-- picks it up. Events no longer claimed by worker_id are left alone.
--
-- event_ids null releases every event worker_id holds except except_ids: a
-- worker whose claim got no answer (the connection dropped) cannot know what
-- that claim took, but knows what it is still processing. Returns how many it
-- released.
create or replace function parley.release_events(worker_id text, event_ids bigint[], except_ids bigint[] default '{}')
returns integer
language plpgsql
as $$
declare
  released bigint[];
begin
  with mine as (
    select e.event_id from parley.conversation_events e
    where e.status = 'PROCESSING' and e.claimed_by = release_events.worker_id
      and (release_events.event_ids is null or e.event_id = any(release_events.event_ids))
      and e.event_id <> all(coalesce(except_ids, '{}'))
    order by e.event_id
    for update
  ),
  given_back as (
    update parley.conversation_events e
    set status = 'PENDING', next_attempt_at = now(), claimed_by = null,
        attempt_count = greatest(e.attempt_count - 1, 0)
    from mine where e.event_id = mine.event_id
    returning e.event_id
  )
  select coalesce(array_agg(given_back.event_id), '{}') into released from given_back;
  if cardinality(released) > 0 then
    perform parley._enqueue_events(released, null);
  end if;
  return cardinality(released);
end
$$;
