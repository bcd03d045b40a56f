-- Deletes everything Parley holds about one user, in the caller's transaction,
-- and returns how many rows of each kind went (README, "Forgetting a user").
--
-- Lock order, shared with the worker: first the user's event rows, in
-- event_id order, then their conversation rows, then the deletes. The worker
-- locks an event row before it writes anything for that event, and writes
-- only if the event is still there and PROCESSING; so a forget that commits
-- first leaves the worker nothing to write, and a worker that locked first
-- finishes before the forget deletes what it wrote. Conversation rows are
-- locked before their messages are touched, as apply_retention does, so the
-- two never wait on each other in a circle.
--
-- The events' entries in the change log (parley.event_changes) are deleted by
-- event_id. Webhook deliveries (every attempt, parley.webhook_deliveries, and
-- the message they carry) are counted, their queued jobs deleted, and the
-- rows go with the events (ON DELETE CASCADE), as does anything else that
-- references conversation_events or conversations.
create or replace function parley.forget_user(profile_id text) returns jsonb
language plpgsql
as $$
declare
  v_profile text := forget_user.profile_id;
  event_ids bigint[];
  conversation_ids text[];
  n_jobs bigint;
  n_cached bigint;
  n_messages bigint;
  n_embeddings bigint;
  n_events bigint;
  n_changes bigint;
  n_conversations bigint;
  n_friendship bigint;
  n_candidates bigint;
  n_deliveries bigint;
  delivery_ids uuid[];
begin
  perform parley._require('profile_id', v_profile);

  select coalesce(array_agg(e.event_id order by e.event_id), '{}') into event_ids
  from (select ce.event_id from parley.conversation_events ce
        where ce.profile_id = v_profile order by ce.event_id for update) as e;
  select coalesce(array_agg(c.conversation_id order by c.conversation_id), '{}') into conversation_ids
  from (select pc.conversation_id from parley.conversations pc
        where pc.profile_id = v_profile order by pc.conversation_id for update) as c;

  select coalesce(array_agg(wm.delivery_id), '{}') into delivery_ids
  from parley.webhook_messages wm where wm.event_id = any(event_ids);
  select count(*) into n_deliveries from parley.webhook_deliveries wd where wd.delivery_id = any(delivery_ids);

  n_jobs := parley._forget_jobs(event_ids, delivery_ids);

  -- The cache is keyed by model and the SHA-256 of the text's UTF-8 bytes
  -- (src/embed/embedder.ts, contentHash). The models come from a
  -- skip scan of its primary key, so each hash is an index lookup per model.
  with recursive models as (
    (select model from parley.embedding_cache order by model limit 1)
    union all
    select (select ec.model from parley.embedding_cache ec where ec.model > models.model order by ec.model limit 1)
    from models where models.model is not null
  ),
  hashes as (
    select distinct sha256(convert_to(m.content, 'UTF8')) as content_hash
    from parley.messages m where m.conversation_id = any(conversation_ids)
  ),
  gone as (
    delete from parley.embedding_cache ec
    using models, hashes
    where models.model is not null and ec.model = models.model and ec.content_hash = hashes.content_hash
    returning 1
  )
  select count(*) into n_cached from gone;

  with gone as (delete from parley.messages m where m.conversation_id = any(conversation_ids) returning 1)
  select count(*) into n_messages from gone;
  with gone as (delete from parley.conversation_embeddings ce where ce.conversation_id = any(conversation_ids) returning 1)
  select count(*) into n_embeddings from gone;
  -- The events' entries in the change log (migrations/0004) go with them.
  with gone as (delete from parley.conversation_events ce where ce.profile_id = v_profile returning ce.event_id)
  select count(*), coalesce(array_agg(gone.event_id), '{}') || event_ids into n_events, event_ids from gone;
  with gone as (delete from parley.event_changes ec where ec.event_id = any(event_ids) returning 1)
  select count(*) into n_changes from gone;
  with gone as (delete from parley.conversations c where c.conversation_id = any(conversation_ids) returning 1)
  select count(*) into n_conversations from gone;
  with gone as (delete from parley.friendship_status fs where fs.profile_id = v_profile returning 1)
  select count(*) into n_friendship from gone;
  with gone as (delete from parley.agent_candidates ac where ac.profile_id = v_profile returning 1)
  select count(*) into n_candidates from gone;

  return jsonb_build_object(
    'conversations', n_conversations,
    'messages', n_messages,
    'events', n_events,
    'event_changes', n_changes,
    'embeddings', n_embeddings,
    'cached_embeddings', n_cached,
    'jobs', n_jobs,
    'friendship_status', n_friendship,
    'agent_candidates', n_candidates,
    'webhook_deliveries', n_deliveries);
end
$$;

-- Deletes the graphile-worker jobs of these events and webhook deliveries: the live job of each,
-- found by its key (sql/_queue_event.sql), and any keyless one, which
-- graphile-worker leaves behind when add_job replaces a job that a worker is
-- running (it clears the running job's key). A running job is deleted as
-- well, unlike graphile_worker.remove_job, which only stops it retrying and
-- keeps its row (and its payload) around: graphile-worker 0.17's completion
-- and failure of a job that is gone change nothing, and Parley's jobs have no
-- named queue whose lock would be left held.
create or replace function parley._forget_jobs(event_ids bigint[], delivery_ids uuid[]) returns bigint
language plpgsql
as $$
declare
  deleted bigint;
begin
  if cardinality(event_ids) = 0 then
    return 0;
  end if;
  with keyed as (
    delete from graphile_worker._private_jobs j
    where j.key = any(array(select 'parley:event:' || id from unnest(event_ids) as id)
                      || array(select 'parley:webhook_delivery:' || id from unnest(delivery_ids) as id))
    returning 1
  ),
  keyless as (
    delete from graphile_worker._private_jobs j
    using graphile_worker._private_tasks t
    where j.key is null and t.id = j.task_id and t.identifier = 'process_conversation'
      and j.payload ->> 'event_id' = any(event_ids::text[])
    returning 1
  )
  select (select count(*) from keyed) + (select count(*) from keyless) into deleted;
  return deleted;
end
$$;
