-- Puts a FAILED event back to PENDING with a fresh job and a fresh attempt
-- budget. Returns false when the event is not FAILED (nothing is changed).
create or replace function parley.retry_event(event_id bigint) returns boolean
language plpgsql
as $$
declare
  current_status text;
begin
  select e.status into current_status from parley.conversation_events e
  where e.event_id = retry_event.event_id
  for update;
  if not found then
    raise exception 'event_not_found: no event %', retry_event.event_id
      using errcode = 'P0002', column = 'event_id';
  end if;
  if current_status <> 'FAILED' then
    return false;
  end if;
  update parley.conversation_events e
  set status = 'PENDING', attempt_count = 0, next_attempt_at = now(),
      error_code = null, error_details = null
  where e.event_id = retry_event.event_id;
  perform parley._enqueue(retry_event.event_id, null);
  return true;
end
$$;
