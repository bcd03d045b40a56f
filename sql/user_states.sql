-- What the pipeline needs to know about users before it folds their next
-- conversations in: their friendship state (null for a user never seen; its
-- conversation_count is the version complete_events checks) and the agents of
-- their last five conversations, which candidate ranking offers less.
create or replace function parley.user_states(profile_ids text[])
returns table (profile_id text, friendship json, recent_agent_ids text[])
language sql stable
as $$
  select u.profile_id,
    (select json_build_object('friendship_score', f.friendship_score, 'friendship_level', f.friendship_level,
                              'topic_metrics', f.topic_metrics, 'conversation_count', f.conversation_count)
     from parley.friendship_status f where f.profile_id = u.profile_id),
    array(select c.bot_id from parley.conversations c where c.profile_id = u.profile_id
          order by c.started_at desc limit 5)
  from (select distinct p.profile_id from unnest(profile_ids) as p(profile_id)) u
$$;
