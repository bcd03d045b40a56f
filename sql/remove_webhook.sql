-- Unsubscribes a webhook. Returns false when there is no such webhook.
--
-- Its deliveries and their attempts go with it, finished or not (ON DELETE
-- CASCADE), and so do the queued jobs of the unfinished ones: nothing more is
-- sent to that URL, and its secret is gone from the database. An attempt
-- already on the wire when this commits may still arrive; the task then finds
-- its delivery gone and records nothing.
create or replace function parley.remove_webhook(webhook_id bigint) returns boolean
language plpgsql
as $$
begin
  perform from parley.webhooks w where w.webhook_id = remove_webhook.webhook_id for update;
  if not found then
    return false;
  end if;
  perform graphile_worker.remove_job('parley:webhook_delivery:' || d.delivery_id)
  from parley.webhook_messages m
  join parley.webhook_deliveries d on d.delivery_id = m.delivery_id
  where m.webhook_id = remove_webhook.webhook_id and d.status = 'PENDING';
  delete from parley.webhooks w where w.webhook_id = remove_webhook.webhook_id;
  return true;
end
$$;
