-- Everything Parley holds about one user, as JSON (README, "Exporting a
-- user"). export_user returns it as one document; export_user_profile and
-- export_user_conversations give the same document in pieces, so a caller
-- (GET /v1/users/:profile_id/export) can stream a long history page by page:
--
--   export_user(p) = export_user_profile(p)
--                    || {"conversations": [every export_user_conversations(p, ...) row, in order]}
--
-- Rows are turned into JSON whole (to_jsonb), so a column added later is
-- exported without a change here. Left out: the search index
-- (messages.search_vector) and the vector's sign signature, both derived from
-- what is exported.

create or replace function parley.export_user_profile(profile_id text) returns jsonb
language plpgsql stable
as $$
declare
  v_profile text := export_user_profile.profile_id;
begin
  perform parley._require('profile_id', v_profile);
  return jsonb_build_object(
    'profile_id', v_profile,
    'friendship_status',
      (select to_jsonb(fs) - 'profile_id' from parley.friendship_status fs where fs.profile_id = v_profile),
    'agent_candidates',
      (select to_jsonb(ac) - 'profile_id' from parley.agent_candidates ac where ac.profile_id = v_profile));
end
$$;

-- One page of the user's conversations in (started_at, conversation_id)
-- order, after the conversation `after_conversation_id` (keyset pagination:
-- no OFFSET, each page costs the same). A null page_size returns them all.
create or replace function parley.export_user_conversations(
  profile_id text, after_conversation_id text default null, page_size integer default 100
) returns table (conversation_id text, conversation jsonb)
language plpgsql stable
as $$
#variable_conflict use_column
declare
  v_profile text := export_user_conversations.profile_id;
  v_after text := export_user_conversations.after_conversation_id;
  after_started timestamptz;
begin
  perform parley._require('profile_id', v_profile);
  if page_size < 1 or page_size > 1000 then
    perform parley._reject('page_size', format('must be between 1 and 1000 (got %s)', page_size));
  end if;
  if v_after is not null then
    select c.started_at into after_started from parley.conversations c
    where c.conversation_id = v_after and c.profile_id = v_profile;
    if not found then
      perform parley._reject('after_conversation_id', format('is not a conversation of profile %s', left(v_profile, 64)));
    end if;
  end if;

  return query
  select c.conversation_id, parley._export_conversation(c)
  from parley.conversations c
  where c.profile_id = v_profile
    -- The first condition lets the (profile_id, started_at) index start there.
    and (v_after is null or (c.started_at >= after_started
                             and (c.started_at, c.conversation_id) > (after_started, v_after)))
  order by c.started_at, c.conversation_id
  limit page_size;
end
$$;

create or replace function parley.export_user(profile_id text) returns jsonb
language sql stable
as $$
  select parley.export_user_profile(export_user.profile_id) || jsonb_build_object('conversations',
    coalesce((select jsonb_agg(page.conversation order by ordinality)
              from parley.export_user_conversations(export_user.profile_id, null, null) with ordinality as page),
             '[]'::jsonb))
$$;

-- A conversation with its messages, its vector and its event; the event's
-- results (set once PROCESSED) grouped as in GET /v1/conversations/:id.
create or replace function parley._export_conversation(c parley.conversations) returns jsonb
language sql stable
as $$
  select to_jsonb(c) - 'profile_id' || jsonb_build_object(
    'messages', coalesce(
      (select jsonb_agg(to_jsonb(m) - 'conversation_id' - 'search_vector' order by m.seq)
       from parley.messages m where m.conversation_id = c.conversation_id),
      '[]'::jsonb),
    'embedding',
      (select to_jsonb(e) - 'conversation_id' - 'embedding_signs'
       from parley.conversation_embeddings e where e.conversation_id = c.conversation_id),
    'event',
      (select to_jsonb(ev) - 'conversation_id' - 'profile_id'
              - '{friendship_score_change,new_friendship_level,total_turns,user_initiated_questions,topic_metrics,session_emotion}'::text[]
              || jsonb_build_object('results', case when ev.status = 'PROCESSED' then jsonb_build_object(
                   'friendship_score_change', ev.friendship_score_change,
                   'new_friendship_level', ev.new_friendship_level,
                   'total_turns', ev.total_turns,
                   'user_initiated_questions', ev.user_initiated_questions,
                   'topic_metrics', ev.topic_metrics,
                   'session_emotion', ev.session_emotion) end)
       from parley.conversation_events ev where ev.conversation_id = c.conversation_id))
$$;

-- Replaced by parley._require; a database migrated before would keep it.
drop function if exists parley._export_check_profile(text);
