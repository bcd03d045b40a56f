-- Validates a batch of messages and appends the new ones to a conversation
-- whose row the caller has locked. A message whose message_id is already stored
-- is skipped, which makes a retried append idempotent. Returns how many were new.
create or replace function parley._append_messages(
  p_conversation_id text, messages jsonb, path text
) returns integer
language plpgsql
as $$
declare
  stored integer;
  added integer;
begin
  if messages is null or jsonb_typeof(messages) <> 'array' then
    perform parley._reject(path, format('must be an array of messages, got %s', parley._describe(messages)));
  end if;
  if jsonb_array_length(messages) > parley._limit('messages_per_call') then
    perform parley._reject(path, format('has %s messages; the limit is %s per call',
      jsonb_array_length(messages), parley._limit('messages_per_call')));
  end if;

  -- Fast path: one set-based check of every message. Only a batch that fails
  -- it goes through the loop below, which finds and names the field at fault.
  if exists (
    select 1 from jsonb_array_elements(messages) as m(value)
    where not coalesce(
      jsonb_typeof(m.value) = 'object'
      and m.value - '{role,content,timestamp,message_id,metadata}'::text[] = '{}'::jsonb
      and jsonb_typeof(m.value -> 'role') = 'string'
      and m.value ->> 'role' in ('user', 'agent', 'system')
      and jsonb_typeof(m.value -> 'content') = 'string'
      and length(m.value ->> 'content') <= parley._limit('content_chars')
      -- JSON null counts as absent, as in the slow path and the insert.
      and (nullif(m.value -> 'timestamp', 'null') is null
           or (jsonb_typeof(m.value -> 'timestamp') = 'string'
               and m.value ->> 'timestamp' ~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}(:?\d{2})?)$'))
      and (nullif(m.value -> 'message_id', 'null') is null
           or (jsonb_typeof(m.value -> 'message_id') = 'string'
               and length(m.value ->> 'message_id') between 1 and parley._limit('id_chars')))
      and (m.value -> 'metadata' is null or jsonb_typeof(m.value -> 'metadata') in ('object', 'null')),
      false)
  ) or exists (
    select 1 from jsonb_array_elements(messages) as m(value)
    where m.value ->> 'message_id' is not null
    group by m.value ->> 'message_id' having count(*) > 1
  ) then
    perform parley._reject_messages(messages, path);
  end if;

  select message_count into stored from parley.conversations where conversation_id = p_conversation_id;

  begin
  -- Materialized: every timestamp is parsed, also of messages skipped below
  -- as already stored, so a retry cannot slip a date that does not exist past.
  with incoming as materialized (
    select value, ordinality, (value ->> 'timestamp')::timestamptz as sent_at
    from jsonb_array_elements(messages) with ordinality
  )
  insert into parley.messages (conversation_id, seq, message_id, role, content, sent_at, metadata)
  select p_conversation_id,
         stored + row_number() over (order by incoming.ordinality),
         incoming.value ->> 'message_id',
         incoming.value ->> 'role',
         incoming.value ->> 'content',
         incoming.sent_at,
         nullif(incoming.value -> 'metadata', 'null'::jsonb)
  from incoming
  -- stored = 0: nothing to deduplicate against (every end_conversation with a log).
  where stored = 0
     or incoming.value ->> 'message_id' is null
     or not exists (
       select 1 from parley.messages existing
       where existing.conversation_id = p_conversation_id
         and existing.message_id = incoming.value ->> 'message_id');
  get diagnostics added = row_count;
  exception when datetime_field_overflow or invalid_datetime_format or invalid_time_zone_displacement_value then
    -- A date that matches the pattern but does not exist (2025-02-30), or a
    -- zone PostgreSQL cannot hold (+16:00, +05:75).
    perform parley._reject_messages(messages, path);
  end;

  if stored + added > parley._limit('messages_per_conversation') then
    perform parley._reject(path, format('would bring the conversation to %s messages; the limit is %s',
      stored + added, parley._limit('messages_per_conversation')));
  end if;

  if added > 0 then
    update parley.conversations
    set message_count = stored + added, last_activity_at = now()
    where conversation_id = p_conversation_id;
  end if;
  return added;
end
$$;

-- The slow path of _append_messages: walks the batch and raises 22023 naming
-- the first field at fault.
create or replace function parley._reject_messages(messages jsonb, path text) returns void
language plpgsql
as $$
declare
  message jsonb;
  position integer := 0;
  item text;
  message_ids text[] := '{}';
  message_id text;
  role text;
begin
  for message in select value from jsonb_array_elements(messages) loop
    item := format('%s[%s]', path, position);
    if jsonb_typeof(message) <> 'object' then
      perform parley._reject(item, format('must be an object, got %s', jsonb_typeof(message)));
    end if;
    perform parley._known_keys(message, item, '{role,content,timestamp,message_id,metadata}');
    role := parley._text_field(message, 'role', item || '.role', true, 16);
    if role not in ('user', 'agent', 'system') then
      perform parley._reject(item || '.role', format('must be one of user, agent, system (got %s)', role));
    end if;
    if message -> 'content' is null or jsonb_typeof(message -> 'content') <> 'string' then
      perform parley._reject(item || '.content', format('must be a string, got %s', parley._describe(nullif(message -> 'content', 'null'))));
    end if;
    if length(message ->> 'content') > parley._limit('content_chars') then
      perform parley._reject(item || '.content', format('is %s characters long; the limit is %s',
        length(message ->> 'content'), parley._limit('content_chars')));
    end if;
    perform parley._timestamp_field(message, 'timestamp', item || '.timestamp', false);
    perform parley._object_field(message, 'metadata', item || '.metadata');
    message_id := parley._text_field(message, 'message_id', item || '.message_id', false, parley._limit('id_chars'));
    if message_id is not null then
      if message_id = any (message_ids) then
        perform parley._reject(item || '.message_id', format('repeats an earlier message_id in this call (%s)', message_id));
      end if;
      message_ids := message_ids || message_id;
    end if;
    position := position + 1;
  end loop;

  raise exception 'parley._reject_messages found no fault in %', path;
end
$$;
