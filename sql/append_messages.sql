-- Appends turns to a live conversation. A message_id per message makes a
-- retried call idempotent. Returns how many messages were new.
create or replace function parley.append_messages(conversation_id text, messages jsonb) returns integer
language plpgsql
as $$
declare
  conversation parley.conversations;
begin
  perform parley._require('conversation_id', append_messages.conversation_id);
  if octet_length(messages::text) > parley._limit('payload_bytes') then
    perform parley._reject('messages', format('is %s bytes; the limit is %s', octet_length(messages::text), parley._limit('payload_bytes')));
  end if;
  conversation := parley._locked_conversation(append_messages.conversation_id);
  if not conversation.is_active then
    raise exception 'conversation_ended: conversation % has ended; no more messages can be appended', append_messages.conversation_id
      using errcode = '55000', column = 'conversation_id';
  end if;
  return parley._append_messages(append_messages.conversation_id, messages, 'messages');
end
$$;
