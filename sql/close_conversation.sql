-- Ends a live conversation with the messages stored so far and queues its
-- processing, like end_conversation. Closing it again returns the same event.
create or replace function parley.close_conversation(conversation_id text) returns bigint
language plpgsql
as $$
declare
  conversation parley.conversations;
  existing_event bigint;
begin
  conversation := parley._locked_conversation(close_conversation.conversation_id);
  if not conversation.is_active then
    select event_id into existing_event from parley.conversation_events e
    where e.conversation_id = close_conversation.conversation_id;
    return existing_event;
  end if;
  update parley.conversations c
  set ended_at = greatest(now(), c.started_at), is_active = false
  where c.conversation_id = close_conversation.conversation_id;
  return parley._queue_event(close_conversation.conversation_id, conversation.profile_id);
end
$$;
