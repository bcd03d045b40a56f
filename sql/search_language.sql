-- The text search configuration of messages.search_vector and of search
-- queries: one setting, english unless changed (README, "Search").
create or replace function parley.search_language() returns regconfig
language sql stable
as $$
  select language from parley.search_settings
$$;

-- Switches the configuration and rebuilds messages.search_vector and its
-- index with it. This rewrites parley.messages under an ACCESS EXCLUSIVE lock:
-- pick the language before loading data, or run it in a maintenance window.
-- Owner only (no role is granted it).
create or replace function parley.set_search_language(language text) returns regconfig
language plpgsql
as $$
declare
  wanted regconfig;
begin
  if language is null or btrim(language) = '' then
    perform parley._reject('language', 'is required, e.g. english, simple, german');
  end if;
  begin
    wanted := language::regconfig;
  exception when undefined_object or invalid_name or syntax_error then
    perform parley._reject('language', format('is not a text search configuration (got %s; see \dF in psql)', left(language, 64)));
  end;
  if wanted = parley.search_language() then
    return wanted;
  end if;
  lock table parley.messages in access exclusive mode;
  -- The index depends on the column and goes with it.
  alter table parley.messages drop column search_vector;
  execute format(
    'alter table parley.messages add column search_vector tsvector generated always as (to_tsvector(%s::regconfig, content)) stored',
    wanted::oid);
  create index messages_search on parley.messages using gin (search_vector);
  update parley.search_settings set language = wanted;
  return wanted;
end
$$;
