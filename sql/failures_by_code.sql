-- FAILED events grouped by error_code: how many, and when the first and the
-- latest of them made their last attempt. Each is fixed with
-- parley.retry_event(event_id) once its cause is.
drop view if exists parley.failures_by_code;
create view parley.failures_by_code as
select
  error_code,
  count(*) as events,
  min(last_attempt_at) as first_failed_at,
  max(last_attempt_at) as last_failed_at
from parley.conversation_events
where status = 'FAILED'
group by error_code;
