-- Opens a live conversation; messages follow through parley.append_messages.
-- conversation_id is generated when absent. Starting the same conversation_id
-- again returns it and writes nothing.
create or replace function parley.start_conversation(payload jsonb) returns text
language plpgsql
as $$
declare
  v_conversation_id text;
  v_profile_id text;
  v_bot_type text;
  v_bot_id text;
  v_bot_name text;
  v_start timestamptz;
  v_metadata jsonb;
  existing_profile text;
begin
  perform parley._payload_object(payload, parley._limit('payload_bytes'));
  perform parley._known_keys(payload, '', '{conversation_id,profile_id,user_id,bot_type,bot_id,bot_name,start_time,metadata}');
  v_conversation_id := coalesce(
    parley._text_field(payload, 'conversation_id', 'conversation_id', false, parley._limit('id_chars')),
    'conv_' || replace(gen_random_uuid()::text, '-', ''));
  select * into v_profile_id, v_bot_type, v_bot_id, v_bot_name from parley._conversation_fields(payload);
  v_start := coalesce(parley._timestamp_field(payload, 'start_time', 'start_time', false), now());
  v_metadata := coalesce(parley._object_field(payload, 'metadata', 'metadata'), '{}'::jsonb);

  insert into parley.conversations
    (conversation_id, profile_id, bot_type, bot_id, bot_name, started_at, metadata)
  values
    (v_conversation_id, v_profile_id, v_bot_type, v_bot_id, v_bot_name, v_start, v_metadata)
  on conflict (conversation_id) do nothing;

  if not found then
    select profile_id into existing_profile from parley.conversations where conversation_id = v_conversation_id;
    if existing_profile <> v_profile_id then
      perform parley._reject('conversation_id', format('%s already belongs to another profile', v_conversation_id));
    end if;
  end if;
  return v_conversation_id;
end
$$;
