-- Deletes the messages of conversations whose event is PROCESSED and that
-- ended more than `older_than` ago; the conversation row (marked with
-- messages_deleted_at, keeping its message_count), its event, its results
-- and its vector stay. Returns the number of messages deleted.
--
-- One call handles at most `batch_size` conversations, oldest first, and
-- skips those another transaction holds, so it never keeps many locks for
-- long: call it until it returns 0 (the worker's apply_retention cron task
-- does, each call its own transaction). Conversations are locked before their
-- messages, as forget_user does.
create or replace function parley.apply_retention(older_than interval, batch_size integer default 500) returns bigint
language plpgsql
as $$
declare
  cutoff timestamptz;
  chosen text[];
  deleted bigint;
begin
  if older_than is null then
    perform parley._reject('older_than', 'is required, e.g. interval ''90 days''');
  end if;
  if older_than < interval '0' then
    perform parley._reject('older_than', format('must not be negative (got %s)', older_than));
  end if;
  if batch_size is null or batch_size < 1 or batch_size > 10000 then
    perform parley._reject('batch_size', format('must be between 1 and 10000 (got %s)', coalesce(batch_size::text, 'nothing')));
  end if;
  cutoff := now() - older_than;

  select coalesce(array_agg(c.conversation_id), '{}') into chosen
  from (
    select c.conversation_id
    from parley.conversations c
    where c.messages_deleted_at is null and c.ended_at is not null and c.ended_at < cutoff
      and exists (select from parley.conversation_events e
                  where e.conversation_id = c.conversation_id and e.status = 'PROCESSED')
    order by c.ended_at
    limit batch_size
    for update of c skip locked
  ) as c;
  if cardinality(chosen) = 0 then
    return 0;
  end if;

  with gone as (delete from parley.messages m where m.conversation_id = any(chosen) returning 1)
  select count(*) into deleted from gone;
  update parley.conversations c set messages_deleted_at = now() where c.conversation_id = any(chosen);
  return deleted;
end
$$;
