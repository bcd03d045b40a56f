-- Events processed per minute over the last hour: one row per minute, oldest
-- first, the current (partial) minute last, minutes with none at 0. Read from
-- the partial index on processed_at, so the cost grows with the last hour's
-- throughput, not with the table.
drop view if exists parley.pipeline_throughput;
create view parley.pipeline_throughput as
with per_minute as (
  select date_trunc('minute', processed_at) as minute, count(*) as processed
  from parley.conversation_events
  where status = 'PROCESSED' and processed_at >= date_trunc('minute', now()) - interval '59 minutes'
  group by 1
)
select minutes.minute, coalesce(per_minute.processed, 0) as processed
from generate_series(date_trunc('minute', now()) - interval '59 minutes', date_trunc('minute', now()), interval '1 minute')
  as minutes(minute)
left join per_minute using (minute)
order by minutes.minute;
