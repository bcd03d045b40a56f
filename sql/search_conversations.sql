-- Search one user's past conversations: full-text search over their messages,
-- fused with vector similarity when a query embedding is given (README,
-- "Search"). Only conversations whose profile_id equals the given one, by
-- plain equality: no pattern is ever built from an id.

-- The schema of the pgvector extension when it is installed in this database,
-- else null. Searches then compute distances with its operator; without it,
-- they compute them over real[] in PL/pgSQL.
create or replace function parley._pgvector_schema() returns name
language sql stable
as $$
  select n.nspname from pg_catalog.pg_extension e join pg_catalog.pg_namespace n on n.oid = e.extnamespace
  where e.extname = 'vector'
$$;

-- The conversations among `conversation_ids` whose stored vector is nearest to
-- `query` (cosine, vectors of the same dimension only), at most `pool` of
-- them, nearest first. Stored vectors are unit length (the worker normalises
-- them), so cosine is the dot product over |query|.
--
-- Without pgvector: when more than `pool` vectors qualify, their sign
-- signatures (migrations/0005) pick the `pool` nearest by Hamming distance
-- first, and only those are scored exactly. An exact score costs about 55 us a
-- 512-dimension vector in PL/pgSQL; a signature comparison about 1 us.
create or replace function parley._vector_ranking(conversation_ids text[], query real[], pool integer)
returns table (conversation_id text, similarity double precision)
language plpgsql stable
as $$
#variable_conflict use_column
declare
  v_dimension integer := cardinality(query);
  query_norm double precision;
  query_signs bit varying;
  vector_schema name := parley._pgvector_schema();
  candidate record;
  stored real[];
  dot double precision;
  i integer;
begin
  if query is null or cardinality(conversation_ids) = 0 then
    return;
  end if;
  select sqrt(sum(x::double precision * x)) into query_norm from unnest(query) as x;
  if vector_schema is not null then
    -- The expression matches README's HNSW index, which the planner may use
    -- for a very long history; for an ordinary one it reads the user's rows.
    return query execute format(
      'select e.conversation_id, 1 - (e.embedding::%1$I.vector(%2$s) operator(%1$I.<=>) $2::%1$I.vector(%2$s))
       from parley.conversation_embeddings e
       where e.conversation_id = any($1) and e.dimension = %2$s
       order by e.embedding::%1$I.vector(%2$s) operator(%1$I.<=>) $2::%1$I.vector(%2$s), e.conversation_id
       limit $3', vector_schema, v_dimension)
      using conversation_ids, query, pool;
    return;
  end if;

  query_signs := parley._embedding_signs(query);
  for candidate in
    select e.conversation_id, e.embedding
    from parley.conversation_embeddings e
    where e.conversation_id = any(conversation_ids) and e.dimension = v_dimension
    order by bit_count(e.embedding_signs # query_signs), e.conversation_id
    limit pool
  loop
    -- Assigned once: subscripts then read the expanded array, not the
    -- stored (toasted) value each time.
    stored := candidate.embedding;
    dot := 0;
    for i in 1 .. v_dimension loop
      dot := dot + stored[i] * query[i];
    end loop;
    conversation_id := candidate.conversation_id;
    similarity := dot / query_norm;
    return next;
  end loop;
end
$$;

create or replace function parley.search_conversations(
  profile_id text,
  query text,
  k integer default 10,
  query_embedding real[] default null,
  filters jsonb default '{}'
) returns table (
  conversation_id text,
  score double precision,
  ended_at timestamptz,
  bot_id text,
  snippet text,
  bot_type text,
  started_at timestamptz,
  snippet_seq integer,
  keyword_rank integer,
  vector_rank integer
)
language plpgsql stable
as $$
#variable_conflict use_column
declare
  -- Reciprocal rank fusion's constant (Cormack et al., 2009): a result's
  -- score is the sum over the rankings of 1 / (60 + its rank there).
  rrf_k constant integer := 60;
  -- The query's first 32 distinct words count toward coverage.
  max_terms constant integer := 32;
  v_profile text := search_conversations.profile_id;
  v_query text := nullif(btrim(search_conversations.query), '');
  v_filters jsonb := coalesce(search_conversations.filters, '{}'::jsonb);
  v_embedding real[] := search_conversations.query_embedding;
  v_k integer := search_conversations.k;
  v_from timestamptz;
  v_to timestamptz;
  v_bot_type text;
  v_bot_id text;
  v_language regconfig := parley.search_language();
  v_lexemes text[];
  v_terms tsquery[];
  v_any tsquery;
  v_pool integer;
begin
  perform parley._require('profile_id', v_profile);
  if length(v_profile) > parley._limit('id_chars') then
    perform parley._reject('profile_id', format('is %s characters long; the limit is %s', length(v_profile), parley._limit('id_chars')));
  end if;
  if v_k is null or v_k < 1 or v_k > 100 then
    perform parley._reject('k', format('must be between 1 and 100 (got %s)', coalesce(v_k::text, 'nothing')));
  end if;
  if length(v_query) > 1000 then
    perform parley._reject('query', format('is %s characters long; the limit is 1000', length(v_query)));
  end if;
  if v_embedding is not null then
    perform parley._check_query_embedding(v_embedding);
  elsif v_query is null then
    perform parley._reject('query', 'is required (or give query_embedding)');
  end if;

  if jsonb_typeof(v_filters) <> 'object' then
    perform parley._reject('filters', format('must be an object, got %s', jsonb_typeof(v_filters)));
  end if;
  perform parley._known_keys(v_filters, 'filters', '{from,to,bot_type,bot_id}');
  v_from := parley._timestamp_field(v_filters, 'from', 'filters.from', false);
  v_to := parley._timestamp_field(v_filters, 'to', 'filters.to', false);
  if v_to < v_from then
    perform parley._reject('filters.to', format('is before filters.from (%s < %s)', v_filters ->> 'to', v_filters ->> 'from'));
  end if;
  if v_filters ? 'bot_type' then
    v_bot_type := parley._text_field(v_filters, 'bot_type', 'filters.bot_type', false, 32);
    if v_bot_type not in ('TALK', 'GREETING', 'GAME_ACTIVITY') then
      perform parley._reject('filters.bot_type', format('must be one of TALK, GREETING, GAME_ACTIVITY (got %s)', v_bot_type));
    end if;
  end if;
  v_bot_id := parley._text_field(v_filters, 'bot_id', 'filters.bot_id', false, parley._limit('id_chars'));

  -- The query's words as the messages store them (stemmed, stop words gone).
  -- A message matches when it holds any of them; a conversation ranks by how
  -- many of the words its messages hold between them, then by its best
  -- message's rank, so "dune sandworm" finds the conversation that spoke of
  -- both in different turns.
  if v_query is not null then
    v_lexemes := (select array_agg(lexeme order by lexeme) from (
      select lexeme from unnest(tsvector_to_array(to_tsvector(v_language, v_query))) as lexeme
      order by lexeme limit max_terms) as words);
    v_terms := (select array_agg(
      ('''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || '''')::tsquery order by lexeme)
      from unnest(v_lexemes) as lexeme);
    v_any := (select string_agg(term::text, ' | ')::tsquery from unnest(v_terms) as term);
  end if;
  -- How deep each ranking goes before fusion.
  v_pool := greatest(100, 3 * v_k);

  -- Planned for these values on every call (EXECUTE): a plan cached for
  -- generic values picks the GIN index for a common word and runs for seconds.
  return query execute $query$
  with mine as materialized (
    select c.conversation_id, c.ended_at, c.bot_id, c.bot_type, c.started_at
    from parley.conversations c
    where c.profile_id = $1
      and ($2 is null or c.ended_at >= $2)
      and ($3 is null or c.ended_at <= $3)
      and ($4 is null or c.bot_type = $4)
      and ($5 is null or c.bot_id = $5)
  ),
  hits as (
    select m.conversation_id,
           ts_rank_cd(m.search_vector, $6) as rank,
           (select coalesce(bit_or(1::bigint << (t.i - 1)), 0) from generate_subscripts($7, 1) as t(i)
            where m.search_vector @@ $7[t.i]) as words
    from parley.messages m
    where $6 is not null
      and m.conversation_id in (select mine.conversation_id from mine)
      and m.search_vector @@ $6
  ),
  keyword as (
    select h.conversation_id,
           row_number() over (order by bit_count(bit_or(h.words)::bit(64)) desc, max(h.rank) desc,
                                       sum(h.rank) desc, h.conversation_id)::integer as rank
    from hits h
    group by h.conversation_id
    order by rank
    limit $8
  ),
  nearest as (
    select n.conversation_id,
           row_number() over (order by n.similarity desc, n.conversation_id)::integer as rank
    from parley._vector_ranking(
      case when $9 is null then '{}'::text[] else array(select mine.conversation_id from mine) end,
      $9, $8) as n
  ),
  fused as (
    select coalesce(kw.conversation_id, nv.conversation_id) as conversation_id,
           coalesce(1.0 / ($12 + kw.rank), 0) + coalesce(1.0 / ($12 + nv.rank), 0) as score,
           kw.rank as keyword_rank,
           nv.rank as vector_rank
    from keyword kw full join nearest nv on nv.conversation_id = kw.conversation_id
  ),
  top as (
    select f.*, mine.ended_at, mine.bot_id, mine.bot_type, mine.started_at
    from fused f join mine on mine.conversation_id = f.conversation_id
    order by f.score desc, mine.ended_at desc nulls last, f.conversation_id
    limit $10
  )
  select top.conversation_id, top.score::double precision, top.ended_at, top.bot_id,
         parley._snippet(best.content, $11, $6), top.bot_type, top.started_at, best.seq,
         top.keyword_rank, top.vector_rank
  from top
  left join lateral (
    -- The best-matching message: the highest rank against the query's words;
    -- without any, the user's first message.
    select m.seq, m.content from parley.messages m
    where m.conversation_id = top.conversation_id
    order by case when $6 is null then 0 else ts_rank_cd(m.search_vector, $6) end desc,
             (m.role = 'user') desc, m.seq
    limit 1
  ) best on true
  order by top.score desc, top.ended_at desc nulls last, top.conversation_id
  $query$
  using v_profile, v_from, v_to, v_bot_type, v_bot_id, v_any, v_terms, v_pool, v_embedding, v_k, v_language, rrf_k;
end
$$;

create or replace function parley._check_query_embedding(query_embedding real[]) returns void
language plpgsql immutable
as $$
begin
  if array_ndims(query_embedding) is distinct from 1 or cardinality(query_embedding) = 0 then
    perform parley._reject('query_embedding', 'must be a non-empty one-dimensional array of numbers');
  end if;
  if cardinality(query_embedding) > 16000 then
    perform parley._reject('query_embedding', format('has %s dimensions; the limit is 16000', cardinality(query_embedding)));
  end if;
  if array_position(query_embedding, null) is not null then
    perform parley._reject('query_embedding', format('has a null at position %s', array_position(query_embedding, null)));
  end if;
  if exists (select from unnest(query_embedding) as x where x in ('NaN', 'Infinity', '-Infinity')) then
    perform parley._reject('query_embedding', 'must hold finite numbers only');
  end if;
  if not exists (select from unnest(query_embedding) as x where x <> 0) then
    perform parley._reject('query_embedding', 'is the zero vector, which has no direction');
  end if;
end
$$;

-- A message as a snippet: whole when short, else the fragment around the
-- query's words (or its start), without markup.
create or replace function parley._snippet(content text, language regconfig, words tsquery) returns text
language sql stable
as $$
  select case
    when content is null then null
    when length(content) <= 300 then content
    when words is null then left(content, 300)
    else ts_headline(language, content, words, 'MaxWords=45, MinWords=20, StartSel="", StopSel="", HighlightAll=false')
  end
$$;
