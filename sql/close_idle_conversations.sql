-- Closes live conversations with no new message for idle_timeout and queues
-- them, at most batch_size per call; the worker's cron runs it every minute.
-- A closed conversation ends at its last activity, not at the sweep's time.
create or replace function parley.close_idle_conversations(idle_timeout interval, batch_size integer default 1000)
returns integer
language plpgsql
as $$
declare
  idle record;
  closed integer := 0;
begin
  for idle in
    select c.conversation_id, c.profile_id from parley.conversations c
    where c.is_active and c.last_activity_at < now() - idle_timeout
    order by c.last_activity_at
    limit batch_size
    for update skip locked
  loop
    update parley.conversations c
    set ended_at = greatest(c.last_activity_at, c.started_at), is_active = false
    where c.conversation_id = idle.conversation_id;
    perform parley._queue_event(idle.conversation_id, idle.profile_id);
    closed := closed + 1;
  end loop;
  return closed;
end
$$;
