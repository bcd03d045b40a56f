-- Webhooks (README, "Webhooks"): subscriptions, one delivery per finished
-- event and subscription, one row per attempt. Deliveries are queued by a
-- statement trigger on conversation_events in the transaction that marks the
-- event PROCESSED or FAILED (the outbox), and sent by the deliver_webhook task.

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

-- One row per (finished event, matching webhook). It holds the payload as it
-- was when the event finished, so every retry sends the same body. It goes
-- with its event (parley.forget_user deletes a user's events) and with its
-- webhook (parley.remove_webhook).
create table parley.webhook_deliveries (
  delivery_id     uuid primary key default gen_random_uuid(),
  webhook_id      bigint not null references parley.webhooks on delete cascade,
  event_id        bigint not null references parley.conversation_events on delete cascade,
  event_status    text not null check (event_status in ('PROCESSED', 'FAILED')),
  payload         jsonb not null,
  status          text not null default 'PENDING' check (status in ('PENDING', 'DELIVERED', 'FAILED')),
  attempt_count   integer not null default 0,
  -- When the next attempt is due; null once the delivery is finished.
  next_attempt_at timestamptz default now(),
  -- The latest attempt's answer, as in parley.webhook_delivery_attempts.
  http_status     integer,
  error_code      text,
  error_details   text,
  created_at      timestamptz not null default now(),
  finished_at     timestamptz,
  constraint webhook_deliveries_finished check ((status = 'PENDING') = (finished_at is null))
);

-- The cascades from events and webhooks look deliveries up by these.
create index webhook_deliveries_event on parley.webhook_deliveries (event_id);
create index webhook_deliveries_webhook on parley.webhook_deliveries (webhook_id, created_at desc);
create index webhook_deliveries_pending on parley.webhook_deliveries (next_attempt_at) where status = 'PENDING';

create table parley.webhook_delivery_attempts (
  delivery_id   uuid not null references parley.webhook_deliveries on delete cascade,
  attempt       integer not null check (attempt >= 1),
  status        text not null check (status in ('DELIVERED', 'FAILED')),
  http_status   integer,
  error_code    text,
  error_details text,
  started_at    timestamptz not null,
  duration_ms   integer not null,
  primary key (delivery_id, attempt),
  constraint webhook_delivery_attempts_outcome check ((status = 'DELIVERED') = (error_code is null))
);

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
