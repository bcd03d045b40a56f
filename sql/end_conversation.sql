-- Stores a finished conversation and queues its processing, in the caller's
-- transaction: the conversation, its messages, a PENDING event and a
-- graphile-worker job. Returns the event id. Calling it again with the same
-- conversation_id returns the same event id and writes nothing.
create or replace function parley.end_conversation(payload jsonb) returns bigint
language plpgsql
as $$
declare
  fields record;
  existing parley.conversations;
  existing_event bigint;
  inserted integer;
begin
  fields := parley._conversation_payload(payload, true);

  select * into existing from parley.conversations
  where conversation_id = fields.conversation_id
  for update;

  if not found then
    if fields.conversation_log is null then
      perform parley._reject('conversation_log', format(
        'is required: no conversation %s was started with parley.start_conversation', fields.conversation_id));
    end if;
    insert into parley.conversations
      (conversation_id, profile_id, bot_type, bot_id, bot_name, started_at, ended_at, is_active, last_activity_at, metadata)
    values
      (fields.conversation_id, fields.profile_id, fields.bot_type, fields.bot_id, fields.bot_name,
       fields.started_at, fields.ended_at, false, now(), fields.metadata)
    on conflict (conversation_id) do nothing;
    get diagnostics inserted = row_count;
    if inserted = 0 then
      -- A concurrent call with the same conversation_id committed first.
      select event_id into existing_event from parley.conversation_events where conversation_id = fields.conversation_id;
      return existing_event;
    end if;
    perform parley._append_messages(fields.conversation_id, fields.conversation_log, 'conversation_log');
    return parley._queue_event(fields.conversation_id, fields.profile_id);
  end if;

  return parley._end_existing_conversation(existing, fields.profile_id, fields.bot_type, fields.bot_id, fields.bot_name,
    fields.ended_at, fields.conversation_log, fields.metadata);
end
$$;
