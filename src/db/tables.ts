// The one description of Parley's tables for TypeScript; Kysely derives every
// query's types from it. Columns mirror migrations/: test/db/tables.test.ts reads
// this file and fails on any difference from the migrated schema.
import type { ColumnType } from "kysely";
import type {
  BotType, EventStatus, FriendshipLevel, RankedAgent, Role, SessionEmotion, TopicMetrics, WebhookDeliveryStatus,
  WebhookEventKind,
} from "../domain.js";

/** numeric comes back from pg as a string; it is written as a number. */
type Numeric = ColumnType<string, number | string, number | string>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;
/**
 * A column with a default (or an identity): an insert may leave it out. Kysely's Generated<T>
 * would take a ColumnType as the select type itself; this keeps its three types.
 */
type Defaulted<T> = T extends ColumnType<infer S, infer I, infer U> ? ColumnType<S, I | undefined, U> : ColumnType<T, T | undefined, T>;

export interface ConversationsTable {
  conversation_id: string;
  profile_id: string;
  bot_type: BotType;
  bot_id: string;
  bot_name: string | null;
  started_at: Timestamp;
  ended_at: Timestamp | null;
  is_active: Defaulted<boolean>;
  duration_seconds: ColumnType<string | null, never, never>;
  message_count: Defaulted<number>;
  last_activity_at: Defaulted<Timestamp>;
  metadata: Defaulted<Json<Record<string, unknown>>>;
  created_at: Defaulted<Timestamp>;
  /** Set by parley.apply_retention when it deleted the messages (migrations/0005). */
  messages_deleted_at: Timestamp | null;
}

export interface MessagesTable {
  conversation_id: string;
  seq: number;
  message_id: string | null;
  role: Role;
  content: string;
  sent_at: Timestamp | null;
  metadata: Json<Record<string, unknown>> | null;
  created_at: Defaulted<Timestamp>;
  /** Generated from content (migrations/0005); tsvector text as pg returns it. */
  search_vector: ColumnType<string | null, never, never>;
}

export interface ConversationEventsTable {
  event_id: Defaulted<string>;
  conversation_id: string;
  profile_id: string;
  status: Defaulted<EventStatus>;
  attempt_count: Defaulted<number>;
  next_attempt_at: Defaulted<Timestamp>;
  created_at: Defaulted<Timestamp>;
  last_attempt_at: Timestamp | null;
  processed_at: Timestamp | null;
  friendship_score_change: Numeric | null;
  new_friendship_level: FriendshipLevel | null;
  total_turns: number | null;
  user_initiated_questions: number | null;
  topic_metrics: Json<TopicMetrics> | null;
  session_emotion: Json<SessionEmotion> | null;
  error_code: string | null;
  error_details: string | null;
  /** The worker process holding a PROCESSING event's claim (sql/claim_events.sql). */
  claimed_by: string | null;
}

/** The change stream's log (migrations/0004): xid8 and bigint come back as strings. */
export interface EventChangesTable {
  txid: ColumnType<string, never, never>;
  change_id: ColumnType<string, never, never>;
  event_id: string;
  status: EventStatus;
  changed_at: Defaulted<Timestamp>;
}

export interface EventChangesHorizonTable {
  singleton: Defaulted<boolean>;
  txid: string;
  change_id: string;
  pruned_at: Defaulted<Timestamp>;
}

export interface ConversationEmbeddingsTable {
  conversation_id: string;
  model: string;
  dimension: number;
  embedding: number[];
  created_at: Defaulted<Timestamp>;
  /** Generated: one bit per dimension, set where positive (migrations/0005). */
  embedding_signs: ColumnType<string | null, never, never>;
}

export interface EmbeddingCacheTable {
  model: string;
  content_hash: Buffer;
  embedding: number[];
  created_at: Defaulted<Timestamp>;
}

export interface FriendshipStatusTable {
  profile_id: string;
  friendship_score: Defaulted<Numeric>;
  friendship_level: Defaulted<FriendshipLevel>;
  topic_metrics: Defaulted<Json<TopicMetrics>>;
  conversation_count: Defaulted<number>;
  last_event_id: string | null;
  updated_at: Defaulted<Timestamp>;
}

export interface AgentCatalogTable {
  agent_id: string;
  agent_type: BotType;
  name: string;
  topics: Defaulted<string[]>;
  levels: Defaulted<FriendshipLevel[]>;
  is_enabled: Defaulted<boolean>;
}

export interface AgentCandidatesTable {
  profile_id: string;
  greeting_agent: Json<RankedAgent> | null;
  talk_candidates: Defaulted<Json<RankedAgent[]>>;
  game_candidates: Defaulted<Json<RankedAgent[]>>;
  computed_at: Defaulted<Timestamp>;
  expires_at: Timestamp;
  source_event_id: string | null;
}

export interface WorkerHeartbeatsTable {
  worker_id: string;
  hostname: string;
  pid: number;
  started_at: Defaulted<Timestamp>;
  last_seen_at: Defaulted<Timestamp>;
  /** The graphile-worker pool the process runs now. */
  pool_id: string | null;
  /** The pool that delivers webhooks (migrations/0006). */
  webhook_pool_id: string | null;
}

export interface WebhooksTable {
  webhook_id: Defaulted<string>;
  url: string;
  /** Readable by the owner and through parley.webhook_delivery_to_send only (sql/zz_grants.sql). */
  secret: string;
  events: WebhookEventKind[];
  created_at: Defaulted<Timestamp>;
}

export interface WebhookMessagesTable {
  /** Parley-Delivery-Id: the same on every attempt of this delivery. */
  delivery_id: Defaulted<string>;
  webhook_id: string;
  event_id: string;
  payload: Json<Record<string, unknown>>;
  created_at: Defaulted<Timestamp>;
}

/** One row per attempt; a delivery's latest attempt is its state. */
export interface WebhookDeliveriesTable {
  delivery_id: string;
  attempt: number;
  status: Defaulted<WebhookDeliveryStatus>;
  http_status: number | null;
  error_code: string | null;
  error_details: string | null;
  scheduled_at: Defaulted<Timestamp>;
  attempted_at: Timestamp | null;
  duration_ms: number | null;
}

export interface PipelineStatsView {
  pending: string;
  processing: string;
  processed: string;
  failed: string;
  oldest_pending_seconds: number | null;
  processed_last_hour: string;
  latency_p50_seconds: number | null;
  latency_p95_seconds: number | null;
  latency_p99_seconds: number | null;
  webhook_deliveries_pending: string;
}

export interface PipelineThroughputView {
  minute: Date;
  processed: string;
}

export interface FailuresByCodeView {
  error_code: string | null;
  events: string;
  first_failed_at: Date | null;
  last_failed_at: Date | null;
}

/** The full-text configuration of parley.messages.search_vector (sql/search_language.sql). */
export interface SearchSettingsTable {
  only_row: Defaulted<boolean>;
  language: Defaulted<string>;
}

export interface Database {
  "parley.conversations": ConversationsTable;
  "parley.messages": MessagesTable;
  "parley.conversation_events": ConversationEventsTable;
  "parley.conversation_embeddings": ConversationEmbeddingsTable;
  "parley.embedding_cache": EmbeddingCacheTable;
  "parley.friendship_status": FriendshipStatusTable;
  "parley.agent_catalog": AgentCatalogTable;
  "parley.agent_candidates": AgentCandidatesTable;
  "parley.worker_heartbeats": WorkerHeartbeatsTable;
  "parley.event_changes": EventChangesTable;
  "parley.event_changes_horizon": EventChangesHorizonTable;
  "parley.pipeline_stats": PipelineStatsView;
  "parley.pipeline_throughput": PipelineThroughputView;
  "parley.failures_by_code": FailuresByCodeView;
  "parley.search_settings": SearchSettingsTable;
  "parley.webhooks": WebhooksTable;
  "parley.webhook_messages": WebhookMessagesTable;
  "parley.webhook_deliveries": WebhookDeliveriesTable;
}
