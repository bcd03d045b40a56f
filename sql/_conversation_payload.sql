-- Reading a conversation payload: each field checked in one order, with one
-- wording of each error, whichever function takes it (end_conversation, each
-- element of end_conversations, start_conversation).

-- The fields a conversation is opened with: its profile and its bot.
create or replace function parley._conversation_fields(
  payload jsonb, out profile_id text, out bot_type text, out bot_id text, out bot_name text
)
language plpgsql immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  profile_id := parley._profile_field(payload);
  bot_type := parley._bot_type_field(payload);
  bot_id := parley._text_field(payload, 'bot_id', 'bot_id', true, parley._limit('id_chars'));
  bot_name := parley._text_field(payload, 'bot_name', 'bot_name', false, parley._limit('name_chars'));
end
$$;

-- An end_conversation payload, checked and read.
create or replace function parley._end_conversation_payload(
  payload jsonb,
  out conversation_id text, out profile_id text, out bot_type text, out bot_id text, out bot_name text,
  out started_at timestamptz, out ended_at timestamptz, out conversation_log jsonb, out metadata jsonb
)
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
  perform parley._payload_object(payload, parley._limit('payload_bytes'));
  perform parley._known_keys(payload, '', '{conversation_id,profile_id,user_id,bot_type,bot_id,bot_name,start_time,end_time,conversation_log,metadata}');
  conversation_id := parley._text_field(payload, 'conversation_id', 'conversation_id', true, parley._limit('id_chars'));
  select * into profile_id, bot_type, bot_id, bot_name from parley._conversation_fields(payload);
  started_at := parley._timestamp_field(payload, 'start_time', 'start_time', true);
  ended_at := parley._timestamp_field(payload, 'end_time', 'end_time', true);
  if ended_at < started_at then
    perform parley._reject('end_time', format('is before start_time (%s < %s)', payload ->> 'end_time', payload ->> 'start_time'));
  end if;
  conversation_log := nullif(payload -> 'conversation_log', 'null'::jsonb);
  metadata := coalesce(parley._object_field(payload, 'metadata', 'metadata'), '{}'::jsonb);
end
$$;
