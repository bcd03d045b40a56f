-- Opens a live conversation; messages follow through parley.append_messages.
-- conversation_id is generated when absent. Starting the same conversation_id
-- again returns it and writes nothing.
create or replace function parley.start_conversation(payload jsonb) returns text
language plpgsql
as $$
declare
  fields record;
  v_conversation_id text;
  existing_profile text;
begin
  fields := parley._conversation_payload(payload, false);
  v_conversation_id := coalesce(fields.conversation_id, 'conv_' || replace(gen_random_uuid()::text, '-', ''));

  insert into parley.conversations
    (conversation_id, profile_id, bot_type, bot_id, bot_name, started_at, metadata)
  values
    (v_conversation_id, fields.profile_id, fields.bot_type, fields.bot_id, fields.bot_name,
     coalesce(fields.started_at, now()), fields.metadata)
  on conflict (conversation_id) do nothing;

  if not found then
    select profile_id into existing_profile from parley.conversations where conversation_id = v_conversation_id;
    if existing_profile <> fields.profile_id then
      perform parley._reject('conversation_id', format('%s already belongs to another profile', v_conversation_id));
    end if;
  end if;
  return v_conversation_id;
end
$$;
