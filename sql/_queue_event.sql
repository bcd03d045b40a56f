-- Records the event of an ended conversation and queues its processing. The
-- job is added last: graphile-worker's NOTIFY takes a database-wide lock at
-- commit, so nothing should follow it in the caller's transaction.
create or replace function parley._queue_event(p_conversation_id text, p_profile_id text) returns bigint
language plpgsql
set search_path = pg_catalog, pg_temp
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

-- One live job per event, found by its key. add_job with an existing key
-- replaces a waiting job, or, when that job is running, clears its key and
-- adds a fresh one (graphile-worker's documented job_key semantics).
create or replace function parley._enqueue(p_event_id bigint, p_run_at timestamptz) returns void
language sql
set search_path = pg_catalog, pg_temp
as $$
  select from graphile_worker.add_job(
    'process_conversation',
    json_build_object('event_id', p_event_id),
    run_at => p_run_at,
    job_key => 'parley:event:' || p_event_id,
    max_attempts => 25);
$$;
