-- What the deliver_webhook task sends: the delivery's message, its webhook's
-- URL and secret, and the number of its attempt that is due. No row when there
-- is nothing to send: the delivery is gone (its user forgotten, its webhook
-- removed), finished, or its next attempt not yet due (a stray early job).
create or replace function parley.webhook_delivery_to_send(delivery_id uuid)
returns table (webhook_id bigint, event_id bigint, url text, secret text, payload jsonb, attempt integer)
language sql
stable
as $$
  select m.webhook_id, m.event_id, w.url, w.secret, m.payload, d.attempt
  from parley.webhook_deliveries d
  join parley.webhook_messages m on m.delivery_id = d.delivery_id
  join parley.webhooks w on w.webhook_id = m.webhook_id
  where d.delivery_id = webhook_delivery_to_send.delivery_id
    and d.status = 'PENDING'
    and d.scheduled_at <= now()
$$;
