-- The conversation row, locked for the rest of the caller's transaction; an
-- unknown id raises conversation_not_found (P0002), naming the id.
create or replace function parley._locked_conversation(p_conversation_id text) returns parley.conversations
language plpgsql
as $$
declare
  conversation parley.conversations;
begin
  select * into conversation from parley.conversations c
  where c.conversation_id = p_conversation_id
  for update;
  if not found then
    raise exception 'conversation_not_found: no conversation %', p_conversation_id
      using errcode = 'P0002', column = 'conversation_id';
  end if;
  return conversation;
end
$$;
