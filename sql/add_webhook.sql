-- Subscribes url to the events that finish with one of the given statuses.
-- Every delivery is signed with secret (README, "Webhooks"). Returns the
-- webhook id. Bad input raises 22023 naming the field, and the message never
-- contains the secret.
--
-- The URL is checked as text here. Whether its host resolves to a public
-- address is checked by the worker at each delivery, on the address it then
-- connects to (DNS can change between now and then).
create or replace function parley.add_webhook(
  url text, secret text, events text[] default '{PROCESSED,FAILED}'
) returns bigint
language plpgsql
as $$
declare
  new_webhook_id bigint;
begin
  perform parley._check_webhook_url(add_webhook.url);
  perform parley._check_webhook_secret(add_webhook.secret);
  insert into parley.webhooks (url, secret, events)
  values (add_webhook.url, add_webhook.secret, parley._webhook_event_kinds(add_webhook.events))
  returning webhook_id into new_webhook_id;
  return new_webhook_id;
end
$$;

create or replace function parley._check_webhook_url(url text) returns void
language plpgsql
immutable
as $$
declare
  scheme text;
  authority text;
  port integer;
begin
  perform parley._require('url', url);
  if length(url) > 2048 then
    perform parley._reject('url', format('is %s characters long; the limit is 2048', length(url)));
  end if;
  if url ~ '[[:space:][:cntrl:]]' then
    perform parley._reject('url', 'must not contain spaces or control characters');
  end if;
  scheme := lower(substring(url from '^([A-Za-z][A-Za-z0-9+.-]*):'));
  if scheme is null or scheme not in ('http', 'https') then
    perform parley._reject('url', format('must be an absolute URL starting with https:// or http:// (got %s)',
      coalesce(scheme || ':', left(url, 64))));
  end if;
  authority := substring(url from '^[A-Za-z]+://([^/?#]*)');
  if authority is null or authority = '' then
    perform parley._reject('url', 'has no host; expected e.g. https://example.com/hooks/parley');
  end if;
  if position('@' in authority) > 0 then
    perform parley._reject('url', 'must not contain credentials (user:password@); deliveries are signed with the secret');
  end if;
  if authority !~ '^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$' then
    perform parley._reject('url', 'must have a DNS name or an IP address as its host (punycode for international names) and an optional port');
  end if;
  port := substring(authority from ':([0-9]{1,5})$')::integer;
  if port is not null and (port < 1 or port > 65535) then
    perform parley._reject('url', format('port %s is out of range 1-65535', port));
  end if;
end
$$;

create or replace function parley._check_webhook_secret(secret text) returns void
language plpgsql
immutable
as $$
begin
  -- Never echo the secret, not even a part of it: messages reach logs.
  perform parley._require('secret', secret);
  if length(secret) < 16 then
    perform parley._reject('secret', format('must be at least 16 characters long (got %s)', length(secret)));
  end if;
  if length(secret) > 256 then
    perform parley._reject('secret', format('must be at most 256 characters long (got %s)', length(secret)));
  end if;
end
$$;

-- The statuses a webhook listens to, deduplicated and in a fixed order.
create or replace function parley._webhook_event_kinds(events text[]) returns text[]
language plpgsql
immutable
as $$
declare
  kind text;
  position integer := 0;
begin
  if events is null or cardinality(events) = 0 then
    perform parley._reject('events', 'must list at least one of PROCESSED, FAILED');
  end if;
  foreach kind in array events loop
    if kind is null or kind not in ('PROCESSED', 'FAILED') then
      perform parley._reject(format('events[%s]', position),
        format('must be one of PROCESSED, FAILED (got %s)', coalesce(left(kind, 64), 'null')));
    end if;
    position := position + 1;
  end loop;
  return array(select distinct u.value from unnest(events) as u(value) order by u.value desc);
end
$$;
