-- What each Parley role may do (roles: migrations/0003_roles.sql; README,
-- "Roles"). Named zz_ so that it runs after every other sql/ file: functions
-- created or views re-created above start with PostgreSQL's defaults (anyone
-- may EXECUTE a new function) and are closed here, in the same transaction, so
-- no caller ever sees them open. Each run first takes everything away, so this
-- file is the whole truth about the grants, not a diff. It is also the one
-- place that sets each function's search_path and says which run as their
-- owner (security definer): the end of this file.

revoke all on schema parley from public;
revoke all on all tables in schema parley from public, parley_app, parley_worker, parley_reader;
revoke all on all sequences in schema parley from public, parley_app, parley_worker, parley_reader;
-- Internals (the _ helpers, the operational functions) are reachable only
-- through the functions granted below, which run as their owner (security
-- definer: the end of this file) and so may call them.
revoke all on all functions in schema parley from public, parley_app, parley_worker, parley_reader;

grant usage on schema parley to parley_app, parley_worker, parley_reader;

-- parley_app: the SQL API's write functions, and nothing else. It cannot read
-- or change a table directly; the functions validate every field first.
grant execute on function
  parley.end_conversation(jsonb),
  parley.start_conversation(jsonb),
  parley.append_messages(text, jsonb),
  parley.close_conversation(text),
  parley.retry_event(bigint)
to parley_app;

grant execute on function parley.end_conversations(jsonb) to parley_app;

-- Webhook subscriptions: the HTTP API (parley_app) manages them.
grant execute on function parley.add_webhook(text, text, text[]), parley.remove_webhook(bigint) to parley_app;

-- A user's memory and data: search and export read, forget deletes.
grant execute on function
  parley.search_conversations(text, text, integer, real[], jsonb),
  parley.export_user(text),
  parley.export_user_profile(text),
  parley.export_user_conversations(text, text, integer),
  parley.forget_user(text)
to parley_app;

-- parley_reader: reads every table and view (pipeline_stats included), the
-- change log in the order the live stream reads it, and searches and exports
-- a user's data.
grant select on all tables in schema parley to parley_reader;
grant execute on function
  parley.event_changes_head(),
  parley.event_changes_after(xid8, bigint, integer, text, text, boolean),
  parley.event_changes_expired(xid8, bigint),
  parley.search_conversations(text, text, integer, real[], jsonb),
  parley.export_user(text),
  parley.export_user_profile(text),
  parley.export_user_conversations(text, text, integer)
to parley_reader;
-- ...but a webhook's secret: every column of parley.webhooks except it.
revoke select on parley.webhooks from parley_reader;
grant select (webhook_id, url, events, created_at) on parley.webhooks to parley_reader;

-- parley_worker: exactly what src/worker touches. Every change to an event
-- and to a user's state goes through the state machine's functions; the
-- worker reads the catalog and the queue's counts (metrics), caches the topic
-- prototypes' vectors, and keeps its heartbeat.
grant select on parley.agent_catalog, parley.conversation_events, parley.pipeline_stats to parley_worker;
grant select, insert on parley.embedding_cache to parley_worker;
grant select, insert, update, delete on parley.worker_heartbeats to parley_worker;
grant execute on function
  parley.claim_events(text, integer, interval, bigint[]),
  parley.complete_events(text, jsonb),
  parley.fail_events(text, jsonb),
  parley.release_events(text, bigint[], bigint[]),
  parley.user_states(text[]),
  parley.requeue_stranded_events(integer),
  parley.close_idle_conversations(interval, integer),
  parley.release_dead_workers(interval),
  parley.prune_event_changes(interval, integer),
  parley.retry_event(bigint),
  -- The apply_retention cron task.
  parley.apply_retention(interval, integer)
to parley_worker;
-- The deliver_webhook task reads a delivery (with its secret) and records its
-- attempts; the reconciler re-queues deliveries whose job is gone.
grant execute on function
  parley.webhook_delivery_to_send(uuid),
  parley.requeue_stranded_webhook_deliveries(integer),
  parley.record_webhook_attempt(uuid, integer, timestamptz, integer, integer, text, text, boolean, integer[])
to parley_worker;

-- graphile-worker runs its queue with the worker's role: it takes, completes,
-- fails and adds jobs in its own tables, and at start-up reads its migrations
-- table to check the schema version (migrating it is `npm run migrate`'s job,
-- as the owner). Granted over the whole schema so that tables a newer
-- graphile-worker adds are covered after the next migrate.
grant usage on schema graphile_worker to parley_worker;
grant select, insert, update, delete on all tables in schema graphile_worker to parley_worker;
revoke insert, update, delete on graphile_worker.migrations from parley_worker;
grant usage, select on all sequences in schema graphile_worker to parley_worker;
grant execute on all functions in schema graphile_worker to parley_worker;

-- graphile-worker enables row-level security on its tables with no policy, so
-- only their owner sees a row: it expects to run as the role that migrated it.
-- Rather than hand the worker ownership (and with it DROP and ALTER), a policy
-- lets parley_worker reach every row its grants above allow; everyone else
-- still sees none.
do $$
declare
  queue_table regclass;
begin
  for queue_table in
    select c.oid::regclass from pg_catalog.pg_class c
    where c.relnamespace = 'graphile_worker'::regnamespace and c.relkind = 'r' and c.relrowsecurity
  loop
    execute format('drop policy if exists parley_worker on %s', queue_table);
    execute format('create policy parley_worker on %s for all to parley_worker using (true) with check (true)', queue_table);
  end loop;
end
$$;

-- Function security, in one place. Every function in schema parley gets a
-- search_path of pg_catalog and pg_temp alone, pg_temp last, so that no
-- caller's object can stand in for a built-in; the bodies name Parley's
-- objects with their schema. Every function one of the roles above may
-- execute runs as its owner (security definer), so the roles need no right on
-- the tables and internals it uses; so does every trigger function (a trigger
-- runs its function with the rights of whoever fires it: the change log and
-- the webhook deliveries are written for roles that may not write them). The
-- others run as their caller. The function files declare none of this, and
-- CREATE OR REPLACE FUNCTION resets it, so this runs on every migrate, after
-- them and the grants, in the same transaction: no caller ever sees a
-- function without it.
do $$
declare
  fn record;
begin
  for fn in
    select p.oid::regprocedure as signature,
           p.prorettype = 'trigger'::regtype
             or has_function_privilege('parley_app', p.oid, 'EXECUTE')
             or has_function_privilege('parley_worker', p.oid, 'EXECUTE')
             or has_function_privilege('parley_reader', p.oid, 'EXECUTE') as definer
    from pg_catalog.pg_proc p
    where p.pronamespace = 'parley'::regnamespace and p.prokind in ('f', 'p')
  loop
    execute format('alter routine %s security %s set search_path = pg_catalog, pg_temp',
      fn.signature, case when fn.definer then 'definer' else 'invoker' end);
  end loop;
end
$$;
