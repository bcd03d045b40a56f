-- Stores a finished conversation and queues its processing, in the caller's
-- transaction: the conversation, its messages, a PENDING event and a
-- graphile-worker job. Returns the event id. Calling it again with the same
-- conversation_id returns the same event id and writes nothing.
create or replace function parley.end_conversation(payload jsonb) returns bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
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
  perform parley._payload_object(payload, parley._limit('payload_bytes'));
  perform parley._known_keys(payload, '', '{conversation_id,profile_id,user_id,bot_type,bot_id,bot_name,start_time,end_time,conversation_log,metadata}');
  v_conversation_id := parley._text_field(payload, 'conversation_id', 'conversation_id', true, parley._limit('id_chars'));
  v_profile_id := parley._profile_field(payload);
  v_bot_type := parley._bot_type_field(payload);
  v_bot_id := parley._text_field(payload, 'bot_id', 'bot_id', true, parley._limit('id_chars'));
  v_bot_name := parley._text_field(payload, 'bot_name', 'bot_name', false, parley._limit('name_chars'));
  v_start := parley._timestamp_field(payload, 'start_time', 'start_time', true);
  v_end := parley._timestamp_field(payload, 'end_time', 'end_time', true);
  if v_end < v_start then
    perform parley._reject('end_time', format('is before start_time (%s < %s)', payload ->> 'end_time', payload ->> 'start_time'));
  end if;
  v_log := nullif(payload -> 'conversation_log', 'null'::jsonb);
  v_metadata := coalesce(parley._object_field(payload, 'metadata', 'metadata'), '{}'::jsonb);

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
