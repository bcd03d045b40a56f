-- The bulk write path: an array of end_conversation payloads stored in the
-- caller's transaction with one batched enqueue. Equivalent to calling
-- parley.end_conversation on each element in order, so:
--   * returns the event ids in the order of the payloads;
--   * an element whose conversation_id is already ended returns its event and
--     writes nothing; a live one (start_conversation) is ended;
--   * the same conversation_id twice in one array gets the same event id (the
--     later element is a repeat, as a second end_conversation call would be;
--     a different profile is rejected the same way);
--   * any invalid element rejects the whole call with SQLSTATE 22023, the
--     field path prefixed with payloads[i] (0-based), and nothing is written.
--
-- Speed comes from writing rows set-based (one INSERT per table) and from
-- conservative set-based checks of each payload and its messages (functions
-- at the end of this file): what passes them is certainly valid under
-- end_conversation's rules; what does not (invalid, or valid but unusual, like
-- a 29 February timestamp) goes through end_conversation's own helpers
-- (sql/_validate.sql, parley._append_messages), which stay the one statement
-- of the rules and the one wording of the errors.
create or replace function parley.end_conversations(payloads jsonb) returns bigint[]
language plpgsql
as $$
declare
  max_payloads constant integer := parley._limit('payloads_per_call');
  total integer;
  element jsonb;
  position integer;
  -- The fields of each element, by position (1-based).
  vouched boolean[];
  ids text[];
  profiles text[];
  bot_types text[];
  bot_ids text[];
  bot_names text[];
  starts timestamptz[];
  ends timestamptz[];
  logs jsonb[];
  metadatas jsonb[];
  fields record;
  failed_field text;
  failed_message text;
  prefixed text;
  first_at integer[];
  existing record;
  -- By position: the element's conversation was inserted by this call, and
  -- whether its log passed the fast check.
  fresh boolean[];
  fast boolean[];
  written_row record;
  i integer;
  queued bigint[] := '{}';
  result bigint[];
begin
  if payloads is null or jsonb_typeof(payloads) <> 'array' then
    perform parley._reject('payloads', format('must be an array of payloads, got %s', parley._describe(payloads)));
  end if;
  total := jsonb_array_length(payloads);
  if total > max_payloads then
    perform parley._reject('payloads', format('has %s payloads; the limit is %s per call', total, max_payloads));
  end if;
  if total = 0 then
    return '{}';
  end if;
  fresh := array_fill(false, array[total]);
  fast := array_fill(false, array[total]);

  -- One pass reads the fields of every element the conservative check
  -- vouches for; the others go through end_conversation's own helpers below.
  select array_agg(checked.ok order by checked.at),
         array_agg(case when checked.ok then checked.p ->> 'conversation_id' end order by checked.at),
         array_agg(case when checked.ok then coalesce(checked.p ->> 'profile_id', checked.p ->> 'user_id') end order by checked.at),
         array_agg(case when checked.ok then checked.p ->> 'bot_type' end order by checked.at),
         array_agg(case when checked.ok then checked.p ->> 'bot_id' end order by checked.at),
         array_agg(case when checked.ok then checked.p ->> 'bot_name' end order by checked.at),
         array_agg(case when checked.ok then (checked.p ->> 'start_time')::timestamptz end order by checked.at),
         array_agg(case when checked.ok then (checked.p ->> 'end_time')::timestamptz end order by checked.at),
         array_agg(case when checked.ok then nullif(checked.p -> 'conversation_log', 'null'::jsonb) end order by checked.at),
         array_agg(case when checked.ok then coalesce(nullif(checked.p -> 'metadata', 'null'::jsonb), '{}'::jsonb) end order by checked.at)
  into vouched, ids, profiles, bot_types, bot_ids, bot_names, starts, ends, logs, metadatas
  from (select e.at, e.p, parley._end_conversations_payload_ok(e.p) as ok
        from jsonb_array_elements(payloads) with ordinality as e(p, at)
        offset 0) checked;  -- evaluated once per element, not once per use

  -- The helpers name a field as in a single payload; the handler prefixes
  -- payloads[i]. Entered only when some element needs it (a subtransaction).
  if false = any (vouched) then
    begin
      for i in 1 .. total loop
        continue when vouched[i];
        position := i - 1;
        element := payloads -> position;
        fields := parley._conversation_payload(element, true);
        ids[i] := fields.conversation_id;
        profiles[i] := fields.profile_id;
        bot_types[i] := fields.bot_type;
        bot_ids[i] := fields.bot_id;
        bot_names[i] := fields.bot_name;
        starts[i] := fields.started_at;
        ends[i] := fields.ended_at;
        logs[i] := fields.conversation_log;
        metadatas[i] := fields.metadata;
      end loop;
    exception when sqlstate '22023' then
      get stacked diagnostics failed_field = column_name, failed_message = message_text;
      prefixed := format('payloads[%s]', position) || case when failed_field = 'payload' then '' else '.' || failed_field end;
      raise exception '%: %', prefixed, substr(failed_message, length(failed_field) + 3)
        using errcode = '22023', column = prefixed;
    end;
  end if;

  -- For each conversation_id, the position of its first element (1-based);
  -- later elements with the same id are repeats.
  select array_agg(firsts.at order by payload.at) into first_at
  from unnest(ids) with ordinality as payload(conversation_id, at)
  join (select conversation_id, min(at) as at from unnest(ids) with ordinality as p(conversation_id, at) group by conversation_id) firsts
    using (conversation_id);
  for i in 1 .. total loop
    if first_at[i] <> i and profiles[i] <> profiles[first_at[i]] then
      perform parley._reject(format('payloads[%s].profile_id', i - 1),
        format('conversation %s belongs to another profile', ids[i]));
    end if;
  end loop;

  -- New conversations, set-based. Sorted by id so that concurrent calls with
  -- overlapping ids wait for each other instead of deadlocking; an id another
  -- transaction committed first is left out and handled below as existing.
  -- message_count is final here: a log that fails the fast check is written by
  -- _append_messages, which sets it itself.
  for written_row in
    with candidate as (
      select p.*, parley._end_conversations_log_ok(p.log) as fast
      from unnest(ids, profiles, bot_types, bot_ids, bot_names, starts, ends, logs, metadatas, first_at) with ordinality
        as p(conversation_id, profile_id, bot_type, bot_id, bot_name, started_at, ended_at, log, metadata, first_at, at)
      where p.first_at = p.at
        and p.log is not null
        and not exists (select 1 from parley.conversations c where c.conversation_id = p.conversation_id)
    ),
    written as (
      insert into parley.conversations
        (conversation_id, profile_id, bot_type, bot_id, bot_name, started_at, ended_at, is_active, last_activity_at, message_count, metadata)
      select candidate.conversation_id, candidate.profile_id, candidate.bot_type, candidate.bot_id, candidate.bot_name,
             candidate.started_at, candidate.ended_at, false, now(),
             case when candidate.fast then jsonb_array_length(candidate.log) else 0 end,
             candidate.metadata
      from candidate
      order by candidate.conversation_id
      on conflict (conversation_id) do nothing
      returning conversation_id
    )
    select candidate.at, candidate.fast from written join candidate using (conversation_id)
  loop
    fresh[written_row.at] := true;
    fast[written_row.at] := written_row.fast;
  end loop;

  -- jsonb_to_recordset reads each message once, in C, where ->> per column
  -- walked it five times (a third of this statement's time).
  insert into parley.messages (conversation_id, seq, message_id, role, content, sent_at, metadata)
  select c.conversation_id, m.seq, m.message_id, m.role, m.content, m."timestamp", nullif(m.metadata, 'null'::jsonb)
  from unnest(ids, logs, fast) as c(conversation_id, log, fast)
  cross join lateral rows from (
    jsonb_to_recordset(c.log) as (role text, content text, "timestamp" timestamptz, message_id text, metadata jsonb)
  ) with ordinality as m(role, content, "timestamp", message_id, metadata, seq)
  where c.fast;

  for i in 1 .. total loop
    if fresh[i] and not fast[i] then
      perform parley._append_messages(ids[i], logs[i], format('payloads[%s].conversation_log', i - 1));
    end if;
  end loop;

  -- Conversations that existed (or were committed concurrently): ended
  -- exactly as end_conversation ends them (one shared implementation); they
  -- are rare in a bulk load.
  for existing in
    select p.at, c as conversation
    from generate_subscripts(ids, 1) as p(at)
    join parley.conversations c on c.conversation_id = ids[p.at]
    where first_at[p.at] = p.at and not fresh[p.at]
    order by c.conversation_id
    for update of c
  loop
    i := existing.at;
    perform parley._end_existing_conversation(existing.conversation, profiles[i], bot_types[i], bot_ids[i], bot_names[i],
      ends[i], logs[i], metadatas[i], format('payloads[%s].', i - 1));
  end loop;

  -- A first element with neither a stored conversation nor a log.
  select p.at into i
  from generate_subscripts(ids, 1) as p(at)
  where first_at[p.at] = p.at and logs[p.at] is null
    and not exists (select 1 from parley.conversations c where c.conversation_id = ids[p.at])
  order by p.at limit 1;
  if found then
    perform parley._reject(format('payloads[%s].conversation_log', i - 1), format(
      'is required: no conversation %s was started with parley.start_conversation', ids[i]));
  end if;

  -- Repeats of a new conversation get its event through the join; elements
  -- of conversations that existed are looked up.
  with added as (
    insert into parley.conversation_events (conversation_id, profile_id)
    select c.conversation_id, c.profile_id
    from unnest(ids, profiles, fresh) with ordinality as c(conversation_id, profile_id, fresh, at)
    where c.fresh
    order by c.at
    returning event_id, conversation_id
  )
  select array_agg(added.event_id order by p.at),
         queued || coalesce(array_agg(added.event_id order by p.at) filter (where fresh[p.at]), '{}')
  into result, queued
  from unnest(ids) with ordinality as p(conversation_id, at)
  left join added using (conversation_id);

  if array_position(result, null) is not null then
    select array_agg(coalesce(r.event_id, e.event_id) order by r.at) into result
    from unnest(result, ids) with ordinality as r(event_id, conversation_id, at)
    left join parley.conversation_events e on r.event_id is null and e.conversation_id = r.conversation_id;
  end if;

  -- Last, as in _queue_event: add_jobs NOTIFYs, which takes a database-wide
  -- lock at commit. One call for the batch.
  if cardinality(queued) > 0 then
    perform parley._enqueue_events(queued, null);
  end if;
  return result;
end
$$;

-- The conservative checks behind the fast path: true only for input that
-- end_conversation's helpers (parley._validate.sql, parley._append_messages)
-- would certainly accept. Anything they do not vouch for goes through those
-- helpers, which stay the one statement of the rules and the errors' wording,
-- so these may be stricter than the rules but must never be looser.

-- ISO-8601 with a zone, like parley._timestamp_field, narrowed so that a match
-- always casts: years 1000-9999, no 29 February, hours 00-23, zones within
-- +-14:59. Immutable, so a query folds it to a constant.
create or replace function parley._end_conversations_timestamp_pattern() returns text
language sql immutable
as $$
  select '^[1-9][0-9]{3}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)'
      || '[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?(Z|z|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)$'
$$;

-- One or more such timestamps separated by commas.
create or replace function parley._end_conversations_timestamps_pattern() returns text
language sql immutable
as $$
  select format('^(%1$s)(,(%1$s))*$', trim(both '^$' from parley._end_conversations_timestamp_pattern()))
$$;

-- The top-level fields of one payload (not its conversation_log).
create or replace function parley._end_conversations_payload_ok(p jsonb) returns boolean
language sql immutable
as $$
  select case when jsonb_typeof(p) is distinct from 'object' then false else coalesce(
    octet_length(p::text) <= parley._limit('payload_bytes')
    and (p - '{conversation_id,profile_id,user_id,bot_type,bot_id,bot_name,start_time,end_time,conversation_log,metadata}'::text[]) = '{}'::jsonb
    and jsonb_typeof(p -> 'conversation_id') = 'string'
    and length(p ->> 'conversation_id') between 1 and parley._limit('id_chars')
    and case
          when jsonb_typeof(p -> 'profile_id') = 'string' then
            length(p ->> 'profile_id') between 1 and parley._limit('id_chars')
            and (coalesce(jsonb_typeof(p -> 'user_id'), 'null') = 'null' or p -> 'user_id' = p -> 'profile_id')
          when coalesce(jsonb_typeof(p -> 'profile_id'), 'null') = 'null' then
            jsonb_typeof(p -> 'user_id') = 'string' and length(p ->> 'user_id') between 1 and parley._limit('id_chars')
          else false
        end
    and p -> 'bot_type' in ('"TALK"'::jsonb, '"GREETING"'::jsonb, '"GAME_ACTIVITY"'::jsonb)
    and jsonb_typeof(p -> 'bot_id') = 'string'
    and length(p ->> 'bot_id') between 1 and parley._limit('id_chars')
    and case coalesce(jsonb_typeof(p -> 'bot_name'), 'null')
          when 'string' then length(p ->> 'bot_name') between 1 and parley._limit('name_chars')
          else coalesce(jsonb_typeof(p -> 'bot_name'), 'null') = 'null'
        end
    and case
          when jsonb_typeof(p -> 'start_time') = 'string' and jsonb_typeof(p -> 'end_time') = 'string'
               and (p ->> 'start_time') ~ parley._end_conversations_timestamp_pattern()
               and (p ->> 'end_time') ~ parley._end_conversations_timestamp_pattern()
          then (p ->> 'end_time')::timestamptz >= (p ->> 'start_time')::timestamptz
          else false
        end
    and coalesce(jsonb_typeof(p -> 'metadata'), 'null') in ('null', 'object'),
    false) end
$$;

-- A conversation_log for a new conversation (so no stored message_id to
-- collide with). One pass of aggregates over the messages; the timestamps are
-- matched all at once, joined by commas (one regex call per log instead of one
-- per message, several times cheaper), which is why a timestamp holding a
-- comma is not vouched for.
create or replace function parley._end_conversations_log_ok(log jsonb) returns boolean
language sql immutable
as $$
  select case
    when log is null or jsonb_typeof(log) <> 'array' then false
    when jsonb_array_length(log) > parley._limit('messages_per_call') then false
    else coalesce((
      select bool_and(coalesce(case
               when jsonb_typeof(m.value) <> 'object' then false
               else (m.value - '{role,content,timestamp,message_id,metadata}'::text[]) = '{}'::jsonb
                 and m.value -> 'role' in ('"user"'::jsonb, '"agent"'::jsonb, '"system"'::jsonb)
                 and jsonb_typeof(m.value -> 'content') = 'string'
                 and length(m.value ->> 'content') <= parley._limit('content_chars')
                 and case coalesce(jsonb_typeof(m.value -> 'timestamp'), 'null')
                       when 'string' then strpos(m.value ->> 'timestamp', ',') = 0
                       when 'null' then true
                       else false
                     end
                 and coalesce(jsonb_typeof(m.value -> 'metadata'), 'null') in ('null', 'object')
                 and case coalesce(jsonb_typeof(m.value -> 'message_id'), 'null')
                       when 'string' then length(m.value ->> 'message_id') between 1 and parley._limit('id_chars')
                       when 'null' then true
                       else false
                     end
             end, false))
             and count(m.value ->> 'message_id') = count(distinct m.value ->> 'message_id')
             and coalesce(string_agg(m.value ->> 'timestamp', ',') ~ parley._end_conversations_timestamps_pattern(), true)
      from jsonb_array_elements(log) as m(value)), true)
  end
$$;
