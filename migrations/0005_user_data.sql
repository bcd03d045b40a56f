-- A user's memory and data (README, "A user's memory and data"): full-text
-- search over the messages, and the bookkeeping of message retention. The
-- functions live in sql/ (search_conversations.sql, forget_user.sql,
-- export_user.sql, apply_retention.sql).

-- The text search configuration of messages.search_vector and of queries. One
-- row; parley.set_search_language changes it and rebuilds the column.
create table parley.search_settings (
  only_row boolean primary key default true check (only_row),
  language regconfig not null default 'english'
);
insert into parley.search_settings default values;

-- Stored, so that ranking and a scan of one user's messages read it instead
-- of parsing every message again. The GIN index serves a rare word across
-- everyone's messages; a common one is cheaper to check within the user's own
-- messages, and the planner picks between the two.
alter table parley.messages
  add column search_vector tsvector generated always as (to_tsvector('english'::regconfig, content)) stored;
create index messages_search on parley.messages using gin (search_vector);

-- Set when parley.apply_retention deleted the conversation's messages; the
-- conversation keeps its message_count, its event and its results. The partial
-- index holds only ended conversations that still have their messages, so the
-- retention sweep finds the oldest ones without scanning what it already did.
alter table parley.conversations add column messages_deleted_at timestamptz;
create index conversations_retention on parley.conversations (ended_at)
  where messages_deleted_at is null and ended_at is not null;

-- One bit per dimension, set where the component is positive: the sign
-- signature of a conversation's vector. Hamming distance between signatures
-- (bit_count of their XOR, C speed) picks the few hundred nearest candidates
-- of a user's history, which search_conversations then ranks by exact cosine.
-- Defined here and never replaced: stored signatures depend on it.
create function parley._embedding_signs(embedding real[]) returns bit varying
language sql immutable parallel safe
set search_path = pg_catalog, pg_temp
as $$
  select string_agg(case when x > 0 then '1' else '0' end, '' order by i)::bit varying
  from unnest(embedding) with ordinality as v(x, i)
$$;

alter table parley.conversation_embeddings
  add column embedding_signs bit varying generated always as (parley._embedding_signs(embedding)) stored;
