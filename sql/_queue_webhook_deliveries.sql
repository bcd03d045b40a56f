-- Body of the statement trigger conversation_events_queue_webhooks
-- (migrations/0006_webhooks.sql): after each UPDATE of conversation_events,
-- one delivery per event that became PROCESSED or FAILED and per webhook
-- subscribed to that status (its message, its first attempt PENDING and its
-- job), in the updating transaction.
--
-- It runs as its owner, as every trigger function does (sql/zz_grants.sql):
-- whoever finishes the event (the worker's role, an operator) needs no right
-- on the webhook tables or the queue.
create or replace function parley._queue_webhook_deliveries() returns trigger
language plpgsql
as $$
declare
  jobs graphile_worker.job_spec[];
begin
  -- Every UPDATE of an event comes through here (claims, leases, releases,
  -- retries): with no subscription, one probe of a tiny table.
  if not exists (select from parley.webhooks) then
    return null;
  end if;

  with finished as (
    select n.*
    from new_events n
    join old_events o on o.event_id = n.event_id
    where n.status in ('PROCESSED', 'FAILED')
      and o.status is distinct from n.status
  ), queued as (
    insert into parley.webhook_messages (webhook_id, event_id, payload)
    select w.webhook_id, f.event_id, jsonb_build_object(
      'type', case f.status when 'PROCESSED' then 'conversation.processed' else 'conversation.failed' end,
      'event_id', f.event_id::text,
      'conversation_id', f.conversation_id,
      'profile_id', f.profile_id,
      'status', f.status,
      'results', case when f.status = 'PROCESSED' then jsonb_build_object(
        'friendship_score_change', f.friendship_score_change,
        'new_friendship_level', f.new_friendship_level,
        'total_turns', f.total_turns,
        'user_initiated_questions', f.user_initiated_questions,
        'topic_metrics', f.topic_metrics,
        'session_emotion', f.session_emotion) end,
      'error', case when f.status = 'FAILED' then jsonb_build_object(
        'code', f.error_code,
        'details', f.error_details) end)
    from finished f
    join parley.webhooks w on f.status = any (w.events)
    order by f.event_id, w.webhook_id
    -- A webhook that parley.remove_webhook is deleting right now: wait for
    -- it, then skip it if it is gone, rather than fail the foreign key and
    -- with it the transaction that finishes the events.
    for key share of w
    returning delivery_id
  ), first_attempts as (
    insert into parley.webhook_deliveries (delivery_id, attempt)
    select q.delivery_id, 1 from queued q
    returning delivery_id
  )
  select array_agg(parley._webhook_delivery_job(a.delivery_id, null)) into jobs from first_attempts a;

  if jobs is not null then
    perform graphile_worker.add_jobs(jobs);
  end if;
  return null;
end
$$;
