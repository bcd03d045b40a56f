-- Complete: PROCESSING -> PROCESSED, with every effect of a batch in one
-- transaction.
--
-- `results` is what the worker computed from claim_events' rows:
--   {"events": [{event_id, profile_id, attempt, friendship_score_change, new_friendship_level,
--                total_turns, user_initiated_questions, topic_metrics, session_emotion,
--                model, embedding (a real[] literal), cache: [{hash (hex), embedding}]}],
--    "users":  [{profile_id, expected_count, friendship_score, friendship_level,
--                topic_metrics, last_event_id, candidates: {greeting_agent,
--                talk_candidates, game_candidates}}]}
--
-- Exactly once: the event rows are locked first, in event_id order, and an
-- event is applied only if it is still this claim's (PROCESSING, claimed by
-- worker_id, at the attempt the worker claimed). Anything else (finished by
-- another worker after a lapsed lease, released, deleted by forget_user) is
-- `already_done` and nothing of it is written. Then the users' rows are locked
-- in profile_id order (created if missing: a lock on a row that does not exist
-- yet would lock nothing), so concurrent batches cannot deadlock, and each is
-- checked against the conversation_count the worker computed from: a user
-- whose events are not all still claimed, or whose row changed since the
-- claim, is a `conflict`, and the worker computes that user again. forget_user
-- takes the same locks in the same order (events first).
--
-- Returns one row per event: processed, already_done or conflict.
create or replace function parley.complete_events(worker_id text, results jsonb)
returns table (event_id bigint, outcome text)
language plpgsql
as $$
declare
  -- The events still ours, and each one's user (same order).
  ours bigint[];
  ours_profiles text[];
  -- Users with an event in the results that is no longer this claim's.
  tainted text[];
  versions_ok text[];
  processed bigint[];
  processed_profiles text[];
begin
  -- The worker announces this transaction's changes after commit (sql/_event_changes.sql).
  perform set_config('parley.announce_after_commit', 'on', true);
  -- Lock the batch's events, in order, and see which are still ours.
  select coalesce(array_agg(c.event_id) filter (where c.ours), '{}'),
         coalesce(array_agg(c.profile_id) filter (where c.ours), '{}'),
         coalesce(array_agg(distinct c.profile_id) filter (where not c.ours), '{}')
  into ours, ours_profiles, tainted
  from parley._lock_claims(complete_events.worker_id, results -> 'events') c;

  -- Lock (or create) the users' rows in profile_id order, and keep those
  -- still at the version the worker computed from.
  with users as (
    select u.profile_id, coalesce(u.expected_count, 0) as expected_count
    from jsonb_to_recordset(results -> 'users') as u(profile_id text, expected_count integer)
    where u.profile_id = any(ours_profiles) and u.profile_id <> all(tainted)
  ),
  locked as (
    insert into parley.friendship_status as f (profile_id)
    select users.profile_id from users order by users.profile_id
    on conflict (profile_id) do update set profile_id = excluded.profile_id
    returning f.profile_id, f.conversation_count
  )
  select coalesce(array_agg(locked.profile_id), '{}') into versions_ok
  from locked join users using (profile_id)
  where locked.conversation_count = users.expected_count;

  select coalesce(array_agg(o.event_id), '{}'), coalesce(array_agg(o.profile_id), '{}')
  into processed, processed_profiles
  from unnest(ours, ours_profiles) as o(event_id, profile_id)
  where o.profile_id = any(versions_ok);

  -- The users' new state and next candidates.
  with applied as (
    select u.*,
      (select count(*) from unnest(processed_profiles) as p(profile_id) where p.profile_id = u.profile_id)::integer as events
    from jsonb_to_recordset(results -> 'users') as u(
      profile_id text, friendship_score numeric, friendship_level text, topic_metrics jsonb,
      last_event_id bigint, candidates jsonb)
    where u.profile_id = any(versions_ok)
  ),
  friendship as (
    update parley.friendship_status f
    set friendship_score = a.friendship_score, friendship_level = a.friendship_level,
        topic_metrics = a.topic_metrics, conversation_count = f.conversation_count + a.events,
        last_event_id = a.last_event_id, updated_at = now()
    from applied a
    where f.profile_id = a.profile_id
  )
  insert into parley.agent_candidates as ac
    (profile_id, greeting_agent, talk_candidates, game_candidates, computed_at, expires_at, source_event_id)
  select a.profile_id, nullif(a.candidates -> 'greeting_agent', 'null'::jsonb), a.candidates -> 'talk_candidates',
         a.candidates -> 'game_candidates', now(), now() + interval '12 hours', a.last_event_id
  from applied a
  order by a.profile_id
  on conflict (profile_id) do update set
    greeting_agent = excluded.greeting_agent, talk_candidates = excluded.talk_candidates,
    game_candidates = excluded.game_candidates, computed_at = excluded.computed_at,
    expires_at = excluded.expires_at, source_event_id = excluded.source_event_id;

  -- The events' results, their conversations' vectors, and the cache of new text vectors.
  with done as (
    select r.* from jsonb_to_recordset(results -> 'events') as r(
      event_id bigint, friendship_score_change numeric, new_friendship_level text, total_turns integer,
      user_initiated_questions integer, topic_metrics jsonb, session_emotion jsonb,
      model text, embedding text, cache jsonb)
    where r.event_id = any(processed)
  ),
  events as (
    update parley.conversation_events e
    set status = 'PROCESSED', processed_at = clock_timestamp(), claimed_by = null,
        friendship_score_change = d.friendship_score_change, new_friendship_level = d.new_friendship_level,
        total_turns = d.total_turns, user_initiated_questions = d.user_initiated_questions,
        topic_metrics = d.topic_metrics, session_emotion = d.session_emotion,
        error_code = null, error_details = null
    from done d
    where e.event_id = d.event_id
    returning e.conversation_id, d.model, d.embedding::real[] as embedding
  ),
  embeddings as (
    insert into parley.conversation_embeddings as ce (conversation_id, model, dimension, embedding)
    select events.conversation_id, events.model, cardinality(events.embedding), events.embedding
    from events
    order by events.conversation_id
    on conflict (conversation_id) do update set
      model = excluded.model, dimension = excluded.dimension, embedding = excluded.embedding
  )
  insert into parley.embedding_cache (model, content_hash, embedding)
  select distinct on (d.model, decode(entry ->> 'hash', 'hex'))
         d.model, decode(entry ->> 'hash', 'hex'), (entry ->> 'embedding')::real[]
  from done d, jsonb_array_elements(coalesce(d.cache, '[]'::jsonb)) as entry
  order by d.model, decode(entry ->> 'hash', 'hex')
  on conflict do nothing;

  perform parley._complete_jobs_of(processed);

  return query
  select r.event_id,
         case when r.event_id = any(processed) then 'processed'
              when r.event_id = any(ours) then 'conflict'
              else 'already_done' end
  from jsonb_to_recordset(results -> 'events') as r(event_id bigint)
  order by r.event_id;
end
$$;
