-- Stores a finished conversation and queues its processing, in the caller's
-- transaction: the conversation, its messages, a PENDING event and a
-- graphile-worker job. Returns the event id. Calling it again with the same
-- conversation_id returns the same event id and writes nothing.
create or replace function parley.end_conversation(payload jsonb) returns bigint
language plpgsql
as $$
declare
  v_conversation_id text;
  v_profile_id text;
  v_bot_type text;
  v_bot_id text;
  v_bot_name text;
  v_start timestamptz;
  v_end timestamptz;
  v_log jsonb;
  v_metadata jsonb;
  existing parley.conversations;
  existing_event bigint;
  inserted integer;
begin
  select * into v_conversation_id, v_profile_id, v_bot_type, v_bot_id, v_bot_name, v_start, v_end, v_log, v_metadata
  from parley._end_conversation_payload(payload);

  select * into existing from parley.conversations
  where conversation_id = v_conversation_id
  for update;

  if not found then
    if v_log is null then
      perform parley._reject('conversation_log', format(
        'is required: no conversation %s was started with parley.start_conversation', v_conversation_id));
    end if;
    insert into parley.conversations
      (conversation_id, profile_id, bot_type, bot_id, bot_name, started_at, ended_at, is_active, last_activity_at, metadata)
    values
      (v_conversation_id, v_profile_id, v_bot_type, v_bot_id, v_bot_name, v_start, v_end, false, now(), v_metadata)
    on conflict (conversation_id) do nothing;
    get diagnostics inserted = row_count;
    if inserted = 0 then
      -- A concurrent call with the same conversation_id committed first.
      select event_id into existing_event from parley.conversation_events where conversation_id = v_conversation_id;
      return existing_event;
    end if;
    perform parley._append_messages(v_conversation_id, v_log, 'conversation_log');
    return parley._queue_event(v_conversation_id, v_profile_id);
  end if;

  return parley._end_existing_conversation(existing, v_profile_id, v_bot_type, v_bot_id, v_bot_name, v_end, v_log, v_metadata);
end
$$;
