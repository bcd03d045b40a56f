-- Pipeline health in one row: counts per status, the oldest pending event's
-- age, commit-to-PROCESSED latency over the last hour, and the webhook
-- deliveries not finished yet.
drop view if exists parley.pipeline_stats;
create view parley.pipeline_stats as
-- One count per status, each matching a partial index's predicate
-- (migrations/0001), so none of them reads the whole table's heap.
with counts as (
  select
    (select count(*) from parley.conversation_events where status = 'PENDING')    as pending,
    (select count(*) from parley.conversation_events where status = 'PROCESSING') as processing,
    (select count(*) from parley.conversation_events where status = 'PROCESSED')  as processed,
    (select count(*) from parley.conversation_events where status = 'FAILED')     as failed
),
oldest as (
  select extract(epoch from now() - min(created_at))::double precision as oldest_pending_seconds
  from parley.conversation_events
  where status in ('PENDING', 'PROCESSING')
),
recent as (
  select
    count(*) as processed_last_hour,
    percentile_cont(array[0.5, 0.95, 0.99]) within group (
      order by extract(epoch from processed_at - created_at)::double precision) as latency
  from parley.conversation_events
  where status = 'PROCESSED' and processed_at > now() - interval '1 hour'
),
-- A delivery's latest attempt is its state, and it has at most one PENDING
-- attempt: counted from the partial index webhook_deliveries_pending.
deliveries as (
  select count(*) as webhook_deliveries_pending
  from parley.webhook_deliveries
  where status = 'PENDING'
)
select
  counts.pending, counts.processing, counts.processed, counts.failed,
  oldest.oldest_pending_seconds,
  recent.processed_last_hour,
  recent.latency[1] as latency_p50_seconds,
  recent.latency[2] as latency_p95_seconds,
  recent.latency[3] as latency_p99_seconds,
  deliveries.webhook_deliveries_pending
from counts, oldest, recent, deliveries;
