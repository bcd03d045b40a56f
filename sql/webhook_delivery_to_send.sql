-- What the deliver_webhook task sends: the delivery, its webhook's URL and
-- secret, and the number of the attempt about to start. No row when there is
-- nothing to send: the delivery is gone (its user forgotten, its webhook
-- removed), already finished, or not yet due (a stray early job).
create or replace function parley.webhook_delivery_to_send(delivery_id uuid)
returns table (webhook_id bigint, event_id bigint, url text, secret text, payload jsonb, attempt integer)
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
  select d.webhook_id, d.event_id, w.url, w.secret, d.payload, d.attempt_count + 1
  from parley.webhook_deliveries d
  join parley.webhooks w on w.webhook_id = d.webhook_id
  where d.delivery_id = webhook_delivery_to_send.delivery_id
    and d.status = 'PENDING'
    and d.next_attempt_at <= now()
$$;
