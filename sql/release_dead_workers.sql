-- Crash recovery. A worker process records a heartbeat (with the ids of the
-- graphile-worker pools it runs); this releases what a process silent for
-- longer than stale_after held: its claimed events go back to PENDING with a
-- fresh job (the attempt stays counted: a crash may be the event's fault, and
-- an event whose attempts keep being cut short ends FAILED), and the jobs its
-- pool had locked are unlocked (graphile-worker alone would wait 4 hours).
-- Every worker runs it every few seconds. Returns the ids it released.
create or replace function parley.release_dead_workers(stale_after interval) returns text[]
language plpgsql
as $$
declare
  dead_pools text[];
  dead_claims text[];
  orphaned bigint[];
begin
  select coalesce(array_agg(distinct j.locked_by), '{}') into dead_pools
  from graphile_worker.jobs j
  where j.locked_by is not null
    and j.locked_at < now() - stale_after
    and j.task_identifier in ('process_conversation', 'deliver_webhook', 'reconcile_events', 'close_idle_conversations',
                              'prune_event_changes', 'apply_retention')
    and not exists (
      select 1 from parley.worker_heartbeats h
      where j.locked_by in (h.worker_id, h.pool_id, h.webhook_pool_id) and h.last_seen_at >= now() - stale_after);

  with orphans as (
    select e.event_id, e.claimed_by from parley.conversation_events e
    where e.status = 'PROCESSING' and e.claimed_by is not null
      and e.last_attempt_at < now() - stale_after
      and not exists (
        select 1 from parley.worker_heartbeats h
        where h.worker_id = e.claimed_by and h.last_seen_at >= now() - stale_after)
    order by e.event_id
    for update of e skip locked
  ),
  released as (
    update parley.conversation_events e
    set status = 'PENDING', next_attempt_at = now(), claimed_by = null
    from orphans where e.event_id = orphans.event_id
    returning e.event_id, orphans.claimed_by
  )
  select coalesce(array_agg(released.event_id), '{}'), coalesce(array_agg(distinct released.claimed_by), '{}')
  into orphaned, dead_claims
  from released;

  delete from parley.worker_heartbeats h where h.last_seen_at < now() - stale_after;
  if cardinality(orphaned) > 0 then
    perform parley._enqueue_events(orphaned, null);
  end if;
  if cardinality(dead_pools) > 0 then
    perform graphile_worker.force_unlock_workers(dead_pools);
  end if;
  return array(select distinct w from unnest(dead_pools || dead_claims) as w order by 1);
end
$$;
