-- The documented input limits, in one place (README, "Limits").
create or replace function parley._limit(name text) returns integer
language sql immutable
as $$
  select case name
    when 'payload_bytes' then 1048576             -- 1 MiB of JSON per call
    when 'messages_per_call' then 1000
    -- end_conversations: 1000 payloads of 20 messages is about 3 MB and well
    -- under a second; larger batches only hold locks longer.
    when 'payloads_per_call' then 1000
    when 'messages_per_conversation' then 10000
    when 'content_chars' then 32768
    when 'id_chars' then 200
    when 'name_chars' then 500
  end
$$;
