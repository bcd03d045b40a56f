-- Webhooks (README, "Webhooks"): subscriptions; one delivery per finished
-- event and subscribed webhook (its message: the body every attempt sends);
-- one row per attempt of a delivery. Deliveries are queued by a statement
-- trigger on conversation_events in the transaction that marks the event
-- PROCESSED or FAILED (the outbox), and sent by the deliver_webhook task.

create table parley.webhooks (
  webhook_id bigint generated always as identity primary key,
  url        text not null,
  -- Signs every delivery (HMAC-SHA256). Only the owner and the worker (through
  -- parley.webhook_delivery_to_send) read it: sql/zz_grants.sql grants the
  -- other columns alone to parley_reader.
  secret     text not null,
  events     text[] not null,
  created_at timestamptz not null default now(),
  constraint webhooks_events_known check (cardinality(events) > 0 and events <@ '{PROCESSED,FAILED}'::text[])
);

-- One row per delivery, that is per (finished event, matching webhook): what
-- is sent, fixed when the event finished, so every attempt sends the same
-- body. delivery_id is the Parley-Delivery-Id header. It goes with its event
-- (parley.forget_user deletes a user's events) and with its webhook
-- (parley.remove_webhook), and its attempts go with it.
create table parley.webhook_messages (
  delivery_id uuid primary key default gen_random_uuid(),
  webhook_id  bigint not null references parley.webhooks on delete cascade,
  event_id    bigint not null references parley.conversation_events on delete cascade,
  payload     jsonb not null,
  created_at  timestamptz not null default now()
);

-- The cascades from events and webhooks look messages up by these.
create index webhook_messages_event on parley.webhook_messages (event_id);
create index webhook_messages_webhook on parley.webhook_messages (webhook_id);

-- One row per attempt (the contract: status, HTTP code, error). The next
-- attempt of a delivery is written when it is scheduled, PENDING, and gets its
-- outcome when it is made; a failure with a wait left in
-- PARLEY_WEBHOOK_RETRY_SCHEDULE schedules the one after. So a delivery's
-- latest attempt is its state: PENDING (waiting or on the wire), DELIVERED,
-- or FAILED (given up).
create table parley.webhook_deliveries (
  delivery_id   uuid not null references parley.webhook_messages on delete cascade,
  attempt       integer not null check (attempt >= 1),
  status        text not null default 'PENDING' check (status in ('PENDING', 'DELIVERED', 'FAILED')),
  http_status   integer,
  error_code    text,
  error_details text,
  -- When the attempt is due; when it started, and how long it took.
  scheduled_at  timestamptz not null default now(),
  attempted_at  timestamptz,
  duration_ms   integer,
  primary key (delivery_id, attempt),
  constraint webhook_deliveries_made check ((status = 'PENDING') = (attempted_at is null) and (attempted_at is null) = (duration_ms is null)),
  constraint webhook_deliveries_outcome check ((status = 'FAILED') = (error_code is not null))
);

-- At most one attempt of a delivery waits at a time. The reconciler
-- (parley.requeue_stranded_webhook_deliveries) scans the waiting ones by it.
create unique index webhook_deliveries_pending on parley.webhook_deliveries (delivery_id) where status = 'PENDING';

-- Deliveries run in a graphile-worker pool of their own (src/worker/runner.ts),
-- so a hanging receiver never holds a processing slot. Its id is recorded
-- beside the processing pool's, so that parley.release_dead_workers never
-- releases the delivery jobs of a live process.
alter table parley.worker_heartbeats add column webhook_pool_id text;

-- The trigger's body lives in sql/_queue_webhook_deliveries.sql, which every
-- migrate re-applies; this placeholder only lets the trigger be created here.
-- Nothing can subscribe before that file has replaced it: parley.add_webhook
-- is created by the same migrate, after it.
create function parley._queue_webhook_deliveries() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  return null;
end
$$;

-- FOR EACH STATEMENT with transition tables: one call per UPDATE, however
-- many events it finishes (the worker completes events in batches), and it
-- sees every path that finishes an event, the worker's or a manual UPDATE.
-- PostgreSQL allows no column list (UPDATE OF status) with transition tables,
-- so the function compares old and new status itself.
create trigger conversation_events_queue_webhooks
  after update on parley.conversation_events
  referencing old table as old_events new table as new_events
  for each statement execute function parley._queue_webhook_deliveries();
