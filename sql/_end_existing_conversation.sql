-- Ending a conversation that is already stored: the one implementation that
-- end_conversation and end_conversations share, so the single and the bulk
-- path cannot drift apart. The caller has validated the payload's fields and
-- locked the conversation row (FOR UPDATE); `path` prefixes every field it
-- names ('' for end_conversation, 'payloads[3].' for the bulk path).
--
-- An ended conversation returns its event and writes nothing. A live one
-- (parley.start_conversation) keeps what it was started with: a payload that
-- says otherwise is rejected rather than silently half-stored (its start_time
-- stays the one given or taken at start); then it ends, with any messages the
-- payload adds, and its event is queued.
create or replace function parley._end_existing_conversation(
  existing parley.conversations,
  profile_id text, bot_type text, bot_id text, bot_name text,
  end_time timestamptz, log jsonb, metadata jsonb,
  path text default '')
returns bigint
language plpgsql
as $$
declare
  existing_event bigint;
begin
  if existing.profile_id <> profile_id then
    perform parley._reject(path || 'profile_id', format('conversation %s belongs to another profile', existing.conversation_id));
  end if;
  if not existing.is_active then
    select e.event_id into existing_event from parley.conversation_events e
    where e.conversation_id = existing.conversation_id;
    return existing_event;
  end if;
  if existing.bot_type <> bot_type then
    perform parley._reject(path || 'bot_type', format('conversation %s was started with %s', existing.conversation_id, existing.bot_type));
  end if;
  if existing.bot_id <> bot_id then
    perform parley._reject(path || 'bot_id', format('conversation %s was started with %s', existing.conversation_id, existing.bot_id));
  end if;
  if existing.bot_name is not null and bot_name is not null and existing.bot_name <> bot_name then
    perform parley._reject(path || 'bot_name', format('conversation %s was started with %s', existing.conversation_id, existing.bot_name));
  end if;
  if end_time < existing.started_at then
    perform parley._reject(path || 'end_time', format('is before the conversation started (%s)', existing.started_at));
  end if;
  if log is not null then
    perform parley._append_messages(existing.conversation_id, log, path || 'conversation_log');
  end if;
  update parley.conversations c
  set ended_at = end_time, is_active = false,
      bot_name = coalesce(c.bot_name, _end_existing_conversation.bot_name),
      metadata = c.metadata || _end_existing_conversation.metadata
  where c.conversation_id = existing.conversation_id;
  return parley._queue_event(existing.conversation_id, profile_id);
end
$$;
