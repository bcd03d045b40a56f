-- The graphile-worker job behind an event, written once: task, payload, key
-- and graphile-worker's own attempt budget. The key makes it one live job per
-- event: adding it again replaces a waiting job, or, when that job is running,
-- clears its key and adds a fresh one (graphile-worker's job_key semantics).
-- graphile-worker's attempts only matter when a failure cannot even be
-- recorded (the database away); Parley counts its own (attempt_count).
create or replace function parley._job_spec(p_event_id bigint, p_run_at timestamptz default null)
returns graphile_worker.job_spec
language sql stable
as $$
  select row('process_conversation', json_build_object('event_id', p_event_id), null, p_run_at,
             25, 'parley:event:' || p_event_id, null, null)::graphile_worker.job_spec
$$;

-- Queues (or re-queues) the jobs of events, in one call and one NOTIFY.
create or replace function parley._enqueue_events(p_event_ids bigint[], p_run_at timestamptz default null)
returns void
language sql
as $$
  select from graphile_worker.add_jobs(array(
    select parley._job_spec(q.event_id, p_run_at) from unnest(p_event_ids) as q(event_id) order by q.event_id));
$$;

create or replace function parley._enqueue(p_event_id bigint, p_run_at timestamptz) returns void
language sql
as $$
  select parley._enqueue_events(array[p_event_id], p_run_at);
$$;

-- Removes the waiting jobs of finished events: a job nobody has picked up
-- yet would only wake a worker to find its event done. A job a worker holds
-- right now is left to that worker, which completes it when its handler returns.
create or replace function parley._complete_jobs_of(p_event_ids bigint[]) returns void
language sql
as $$
  select from graphile_worker.complete_jobs(array(
    select j.id from graphile_worker.jobs j
    where j.key = any(array(select 'parley:event:' || q.event_id from unnest(p_event_ids) as q(event_id)))
      and j.locked_at is null));
$$;

-- Records the event of an ended conversation and queues its processing. The
-- job is added last: graphile-worker's NOTIFY takes a database-wide lock at
-- commit, so nothing should follow it in the caller's transaction.
create or replace function parley._queue_event(p_conversation_id text, p_profile_id text) returns bigint
language plpgsql
as $$
declare
  new_event_id bigint;
begin
  insert into parley.conversation_events (conversation_id, profile_id)
  values (p_conversation_id, p_profile_id)
  returning event_id into new_event_id;
  perform parley._enqueue(new_event_id, null);
  return new_event_id;
end
$$;
