-- Parley's tables. Functions and views live in sql/ and are re-applied on every
-- migrate; this file is never edited once released.

create schema if not exists parley;

create table parley.conversations (
  conversation_id  text primary key,
  profile_id       text not null,
  bot_type         text not null check (bot_type in ('TALK', 'GREETING', 'GAME_ACTIVITY')),
  bot_id           text not null,
  bot_name         text,
  started_at       timestamptz not null,
  ended_at         timestamptz,
  is_active        boolean not null default true,
  duration_seconds numeric generated always as (extract(epoch from ended_at - started_at)) stored,
  message_count    integer not null default 0,
  -- The idle closer compares this with PARLEY_IDLE_TIMEOUT.
  last_activity_at timestamptz not null default now(),
  metadata         jsonb not null default '{}',
  created_at       timestamptz not null default now(),
  constraint conversations_ended_after_start check (ended_at is null or ended_at >= started_at),
  constraint conversations_active_iff_open check (is_active = (ended_at is null))
);

create index conversations_profile_recent on parley.conversations (profile_id, started_at desc);
create index conversations_idle on parley.conversations (last_activity_at) where is_active;

create table parley.messages (
  conversation_id text not null references parley.conversations on delete cascade,
  seq             integer not null,
  message_id      text,
  role            text not null check (role in ('user', 'agent', 'system')),
  content         text not null,
  sent_at         timestamptz,
  metadata        jsonb,
  created_at      timestamptz not null default now(),
  primary key (conversation_id, seq),
  -- Makes append_messages retries idempotent.
  unique (conversation_id, message_id)
);

create table parley.conversation_events (
  event_id                 bigint generated always as identity primary key,
  conversation_id          text not null unique references parley.conversations on delete cascade,
  profile_id               text not null,
  status                   text not null default 'PENDING'
                           check (status in ('PENDING', 'PROCESSING', 'PROCESSED', 'FAILED')),
  attempt_count            integer not null default 0,
  next_attempt_at          timestamptz not null default now(),
  created_at               timestamptz not null default now(),
  last_attempt_at          timestamptz,
  processed_at             timestamptz,
  friendship_score_change  numeric,
  new_friendship_level     text,
  total_turns              integer,
  user_initiated_questions integer,
  topic_metrics            jsonb,
  session_emotion          jsonb,
  error_code               text,
  error_details            text
);

-- Reconciler and stats look only at unfinished events: keep that index small.
create index conversation_events_unfinished on parley.conversation_events (next_attempt_at)
  where status in ('PENDING', 'PROCESSING');
create index conversation_events_profile on parley.conversation_events (profile_id, event_id desc);
create index conversation_events_processed_recent on parley.conversation_events (processed_at)
  where status = 'PROCESSED';
create index conversation_events_failed on parley.conversation_events (event_id) where status = 'FAILED';

create table parley.conversation_embeddings (
  conversation_id text primary key references parley.conversations on delete cascade,
  model           text not null,
  dimension       integer not null,
  embedding       real[] not null,
  created_at      timestamptz not null default now()
);

-- Content-addressed: the same text under the same model is embedded once.
create table parley.embedding_cache (
  model        text not null,
  content_hash bytea not null,
  embedding    real[] not null,
  created_at   timestamptz not null default now(),
  primary key (model, content_hash)
);

create table parley.friendship_status (
  profile_id         text primary key,
  friendship_score   numeric not null default 0 check (friendship_score >= 0),
  friendship_level   text not null default 'PHASE1_STRANGER'
                     check (friendship_level in ('PHASE1_STRANGER', 'PHASE2_ACQUAINTANCE', 'PHASE3_FRIEND')),
  topic_metrics      jsonb not null default '{}',
  conversation_count integer not null default 0,
  last_event_id      bigint,
  updated_at         timestamptz not null default now()
);

create table parley.agent_catalog (
  agent_id   text primary key,
  agent_type text not null check (agent_type in ('TALK', 'GREETING', 'GAME_ACTIVITY')),
  name       text not null,
  topics     text[] not null default '{}',
  levels     text[] not null default '{PHASE1_STRANGER,PHASE2_ACQUAINTANCE,PHASE3_FRIEND}',
  is_enabled boolean not null default true
);

create table parley.agent_candidates (
  profile_id      text primary key,
  greeting_agent  jsonb,
  talk_candidates jsonb not null default '[]',
  game_candidates jsonb not null default '[]',
  computed_at     timestamptz not null default now(),
  expires_at      timestamptz not null,
  source_event_id bigint
);

-- One row per live worker process; the crash sweeper releases jobs held by
-- workers whose heartbeat went silent.
create table parley.worker_heartbeats (
  worker_id    text primary key,
  hostname     text not null,
  pid          integer not null,
  started_at   timestamptz not null default now(),
  last_seen_at timestamptz not null default now()
);

-- A small sample catalog; replace or extend it with your own agents.
insert into parley.agent_catalog (agent_id, agent_type, name, topics, levels) values
  ('greet_first_hello',      'GREETING', 'First Hello',             '{}',                 '{PHASE1_STRANGER}'),
  ('greet_welcome_back',     'GREETING', 'Welcome Back',            '{}',                 '{PHASE2_ACQUAINTANCE}'),
  ('greet_old_friend',       'GREETING', 'Old Friend Check-in',     '{family,work}',      '{PHASE3_FRIEND}'),
  ('greet_topic_hook',       'GREETING', 'Picks Up Where We Left',  '{movies,music,books,sports}', '{PHASE2_ACQUAINTANCE,PHASE3_FRIEND}'),
  ('talk_movie_preference',  'TALK',     'Movie Preference Talk',   '{movies}',           '{PHASE1_STRANGER,PHASE2_ACQUAINTANCE,PHASE3_FRIEND}'),
  ('talk_music_taste',       'TALK',     'Music Taste Talk',        '{music}',            '{PHASE1_STRANGER,PHASE2_ACQUAINTANCE,PHASE3_FRIEND}'),
  ('talk_weekend_plans',     'TALK',     'Weekend Plans',           '{travel,nature,sports}', '{PHASE1_STRANGER,PHASE2_ACQUAINTANCE}'),
  ('talk_food_stories',      'TALK',     'Food Stories',            '{food,travel}',      '{PHASE1_STRANGER,PHASE2_ACQUAINTANCE,PHASE3_FRIEND}'),
  ('talk_book_club',         'TALK',     'Book Club',               '{books,art}',        '{PHASE2_ACQUAINTANCE,PHASE3_FRIEND}'),
  ('talk_tech_news',         'TALK',     'Tech News Chat',          '{technology,science}', '{PHASE1_STRANGER,PHASE2_ACQUAINTANCE,PHASE3_FRIEND}'),
  ('talk_pet_tales',         'TALK',     'Pet Tales',               '{pets,nature}',      '{PHASE2_ACQUAINTANCE,PHASE3_FRIEND}'),
  ('talk_life_goals',        'TALK',     'Life Goals',              '{work,family,health}', '{PHASE3_FRIEND}'),
  ('talk_sports_fan',        'TALK',     'Sports Fan Talk',         '{sports}',           '{PHASE1_STRANGER,PHASE2_ACQUAINTANCE,PHASE3_FRIEND}'),
  ('game_movie_quiz',        'GAME_ACTIVITY', 'Movie Quiz',         '{movies}',           '{PHASE1_STRANGER,PHASE2_ACQUAINTANCE,PHASE3_FRIEND}'),
  ('game_song_guess',        'GAME_ACTIVITY', 'Guess the Song',     '{music}',            '{PHASE1_STRANGER,PHASE2_ACQUAINTANCE,PHASE3_FRIEND}'),
  ('game_twenty_questions',  'GAME_ACTIVITY', 'Twenty Questions',   '{}',                 '{PHASE1_STRANGER,PHASE2_ACQUAINTANCE,PHASE3_FRIEND}'),
  ('game_trivia_science',    'GAME_ACTIVITY', 'Science Trivia',     '{science,technology,nature}', '{PHASE2_ACQUAINTANCE,PHASE3_FRIEND}'),
  ('game_word_chain',        'GAME_ACTIVITY', 'Word Chain',         '{books,art}',        '{PHASE1_STRANGER,PHASE2_ACQUAINTANCE,PHASE3_FRIEND}'),
  ('game_travel_bingo',      'GAME_ACTIVITY', 'Travel Bingo',       '{travel,food}',      '{PHASE2_ACQUAINTANCE,PHASE3_FRIEND}'),
  ('game_would_you_rather',  'GAME_ACTIVITY', 'Would You Rather',   '{family,work,games}', '{PHASE3_FRIEND}');
