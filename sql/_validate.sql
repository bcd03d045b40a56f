-- Validation helpers shared by the write functions. Every rejection raises
-- SQLSTATE 22023 (invalid_parameter_value) with a message that starts with the
-- field's path, and sets the error's COLUMN to that path, so that clients in
-- any language can point at the field. The limits are documented in README.

create or replace function parley._reject(field text, problem text) returns void
language plpgsql immutable
as $$
begin
  raise exception '%: %', field, problem using errcode = '22023', column = field;
end
$$;

-- A required text argument: neither null nor empty. (A field of a JSON
-- payload: parley._text_field.)
create or replace function parley._require(field text, value text) returns void
language plpgsql immutable
as $$
begin
  if value is null or value = '' then
    perform parley._reject(field, 'is required');
  end if;
end
$$;

create or replace function parley._describe(value jsonb) returns text
language sql immutable
as $$
  select case when value is null then 'nothing' else jsonb_typeof(value) end
$$;

-- A text field of a JSON object: required or optional, non-empty, bounded.
create or replace function parley._text_field(
  obj jsonb, key text, path text, required boolean, max_length integer default parley._limit('id_chars')
) returns text
language plpgsql immutable
as $$
declare
  value jsonb := obj -> key;
  result text;
begin
  if value is null or value = 'null'::jsonb then
    if required then
      perform parley._reject(path, 'is required');
    end if;
    return null;
  end if;
  if jsonb_typeof(value) <> 'string' then
    perform parley._reject(path, format('must be a string, got %s', jsonb_typeof(value)));
  end if;
  result := value #>> '{}';
  if result = '' then
    perform parley._reject(path, 'must not be empty');
  end if;
  if length(result) > max_length then
    perform parley._reject(path, format('is %s characters long; the limit is %s', length(result), max_length));
  end if;
  return result;
end
$$;

-- An ISO-8601 timestamp with an explicit zone ("2025-11-25T18:00:00Z").
-- PostgreSQL alone would also take 'now', 'epoch' or a zoneless time in the
-- session's zone; none of those is what a caller means in a payload.
create or replace function parley._timestamp_field(
  obj jsonb, key text, path text, required boolean
) returns timestamptz
language plpgsql stable
as $$
declare
  value jsonb := obj -> key;
  raw text;
begin
  if value is null or value = 'null'::jsonb then
    if required then
      perform parley._reject(path, 'is required');
    end if;
    return null;
  end if;
  if jsonb_typeof(value) <> 'string' then
    perform parley._reject(path, format('must be an ISO-8601 timestamp string, got %s', jsonb_typeof(value)));
  end if;
  raw := value #>> '{}';
  if raw !~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}(:?\d{2})?)$' then
    perform parley._reject(path, format('must be an ISO-8601 timestamp with a time zone, like 2025-11-25T18:00:00Z (got %s)', left(raw, 64)));
  end if;
  begin
    return raw::timestamptz;
  exception when others then
    perform parley._reject(path, format('is not a valid date or time (got %s)', left(raw, 64)));
  end;
  return null;
end
$$;

create or replace function parley._object_field(obj jsonb, key text, path text) returns jsonb
language plpgsql immutable
as $$
declare
  value jsonb := obj -> key;
begin
  if value is null or value = 'null'::jsonb then
    return null;
  end if;
  if jsonb_typeof(value) <> 'object' then
    perform parley._reject(path, format('must be an object, got %s', jsonb_typeof(value)));
  end if;
  return value;
end
$$;

-- Rejects keys the contract does not define, so that nothing a caller sends is
-- silently dropped.
create or replace function parley._known_keys(obj jsonb, path text, allowed text[]) returns void
language plpgsql immutable
as $$
declare
  unknown text;
begin
  select k into unknown from jsonb_object_keys(obj) as k where k <> all (allowed) order by k limit 1;
  if unknown is not null then
    -- A caller's key of any length: name it, but not all of it.
    unknown := left(unknown, 64);
    perform parley._reject(
      case when path = '' then unknown else path || '.' || unknown end,
      format('is not a known field (known: %s)', array_to_string(allowed, ', ')));
  end if;
end
$$;

create or replace function parley._payload_object(payload jsonb, max_bytes integer) returns void
language plpgsql immutable
as $$
declare
  size integer;
begin
  if payload is null or jsonb_typeof(payload) <> 'object' then
    perform parley._reject('payload', format('must be a JSON object, got %s', parley._describe(payload)));
  end if;
  size := octet_length(payload::text);
  if size > max_bytes then
    perform parley._reject('payload', format('is %s bytes; the limit is %s', size, max_bytes));
  end if;
end
$$;

-- profile_id, or its synonym user_id; both present must agree.
create or replace function parley._profile_field(payload jsonb) returns text
language plpgsql immutable
as $$
declare
  profile text := parley._text_field(payload, 'profile_id', 'profile_id', false);
  synonym text := parley._text_field(payload, 'user_id', 'user_id', false);
begin
  if profile is null and synonym is null then
    perform parley._reject('profile_id', 'is required (user_id is accepted as its synonym)');
  end if;
  if profile is not null and synonym is not null and profile <> synonym then
    perform parley._reject('user_id', 'differs from profile_id; send one of them');
  end if;
  return coalesce(profile, synonym);
end
$$;

create or replace function parley._bot_type_field(payload jsonb) returns text
language plpgsql immutable
as $$
declare
  value text := parley._text_field(payload, 'bot_type', 'bot_type', true, 32);
begin
  if value not in ('TALK', 'GREETING', 'GAME_ACTIVITY') then
    perform parley._reject('bot_type', format('must be one of TALK, GREETING, GAME_ACTIVITY (got %s)', value));
  end if;
  return value;
end
$$;
