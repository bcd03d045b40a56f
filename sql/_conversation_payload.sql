-- Reading a conversation payload: each field checked in one order, with one
-- wording of each error, whichever function takes it (end_conversation, each
-- element of end_conversations, start_conversation).
--
-- ending: an end_conversation payload (conversation_id and start_time
-- required, end_time required and not before start_time, conversation_log);
-- else a start_conversation payload, which has neither end_time nor
-- conversation_log and may omit conversation_id and start_time (null here;
-- start_conversation fills them in).
create or replace function parley._conversation_payload(
  payload jsonb, ending boolean,
  out conversation_id text, out profile_id text, out bot_type text, out bot_id text, out bot_name text,
  out started_at timestamptz, out ended_at timestamptz, out conversation_log jsonb, out metadata jsonb
)
language plpgsql stable
as $$
begin
  perform parley._payload_object(payload, parley._limit('payload_bytes'));
  perform parley._known_keys(payload, '', case when ending
    then '{conversation_id,profile_id,user_id,bot_type,bot_id,bot_name,start_time,end_time,conversation_log,metadata}'::text[]
    else '{conversation_id,profile_id,user_id,bot_type,bot_id,bot_name,start_time,metadata}'::text[] end);
  conversation_id := parley._text_field(payload, 'conversation_id', 'conversation_id', ending, parley._limit('id_chars'));
  profile_id := parley._profile_field(payload);
  bot_type := parley._bot_type_field(payload);
  bot_id := parley._text_field(payload, 'bot_id', 'bot_id', true, parley._limit('id_chars'));
  bot_name := parley._text_field(payload, 'bot_name', 'bot_name', false, parley._limit('name_chars'));
  started_at := parley._timestamp_field(payload, 'start_time', 'start_time', ending);
  if ending then
    ended_at := parley._timestamp_field(payload, 'end_time', 'end_time', true);
    if ended_at < started_at then
      perform parley._reject('end_time', format('is before start_time (%s < %s)', payload ->> 'end_time', payload ->> 'start_time'));
    end if;
    conversation_log := nullif(payload -> 'conversation_log', 'null'::jsonb);
  end if;
  metadata := coalesce(parley._object_field(payload, 'metadata', 'metadata'), '{}'::jsonb);
end
$$;
