// The one description of Parley's tables for TypeScript; Kysely derives every
// query's types from it. Columns mirror migrations/.
import type { ColumnType, Generated } from "kysely";
import type {
  BotType, EventStatus, FriendshipLevel, RankedAgent, Role, SessionEmotion, TopicMetrics, WebhookDeliveryStatus,
  WebhookEventKind,
} from "../domain.js";

/** numeric comes back from pg as a string; it is written as a number. */
type Numeric = ColumnType<string, number | string, number | string>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface ConversationsTable {
  conversation_id: string;
  profile_id: string;
  bot_type: BotType;
  bot_id: string;
  bot_name: string | null;
  started_at: Timestamp;
  ended_at: Timestamp | null;
  is_active: Generated<boolean>;
  duration_seconds: ColumnType<string | null, never, never>;
  message_count: Generated<number>;
  last_activity_at: DefaultedTimestamp;
  metadata: Json<Record<string, unknown>>;
  created_at: DefaultedTimestamp;
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
  created_at: DefaultedTimestamp;
  /** Generated from content (migrations/0005); tsvector text as pg returns it. */
  search_vector: ColumnType<string, never, never>;
}

export interface ConversationEventsTable {
  event_id: Generated<string>;
  conversation_id: string;
  profile_id: string;
  status: ColumnType<EventStatus, EventStatus | undefined, EventStatus>;
  attempt_count: Generated<number>;
  next_attempt_at: DefaultedTimestamp;
  created_at: DefaultedTimestamp;
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
  changed_at: DefaultedTimestamp;
}

export interface EventChangesHorizonTable {
  singleton: Generated<boolean>;
  txid: string;
  change_id: string;
  pruned_at: DefaultedTimestamp;
}

export interface ConversationEmbeddingsTable {
  conversation_id: string;
  model: string;
  dimension: number;
  embedding: number[];
  created_at: DefaultedTimestamp;
  /** Generated: one bit per dimension, set where positive (migrations/0005). */
  embedding_signs: ColumnType<string, never, never>;
}

export interface EmbeddingCacheTable {
  model: string;
  content_hash: Buffer;
  embedding: number[];
  created_at: DefaultedTimestamp;
}

export interface FriendshipStatusTable {
  profile_id: string;
  friendship_score: Numeric;
  friendship_level: FriendshipLevel;
  topic_metrics: Json<TopicMetrics>;
  conversation_count: Generated<number>;
  last_event_id: string | null;
  updated_at: DefaultedTimestamp;
}

export interface AgentCatalogTable {
  agent_id: string;
  agent_type: BotType;
  name: string;
  topics: string[];
  levels: FriendshipLevel[];
  is_enabled: Generated<boolean>;
}

export interface AgentCandidatesTable {
  profile_id: string;
  greeting_agent: Json<RankedAgent | null>;
  talk_candidates: Json<RankedAgent[]>;
  game_candidates: Json<RankedAgent[]>;
  computed_at: DefaultedTimestamp;
  expires_at: Timestamp;
  source_event_id: string | null;
}

export interface WorkerHeartbeatsTable {
  worker_id: string;
  hostname: string;
  pid: number;
  started_at: DefaultedTimestamp;
  last_seen_at: DefaultedTimestamp;
  /** The graphile-worker pool the process runs now. */
  pool_id: string | null;
  /** The pool that delivers webhooks (migrations/0006). */
  webhook_pool_id: string | null;
}

export interface WebhooksTable {
  webhook_id: Generated<string>;
  url: string;
  /** Readable by the owner and through parley.webhook_delivery_to_send only (sql/zz_grants.sql). */
  secret: string;
  events: WebhookEventKind[];
  created_at: DefaultedTimestamp;
}

export interface WebhookMessagesTable {
  /** Parley-Delivery-Id: the same on every attempt of this delivery. */
  delivery_id: Generated<string>;
  webhook_id: string;
  event_id: string;
  payload: Json<Record<string, unknown>>;
  created_at: DefaultedTimestamp;
}

/** One row per attempt; a delivery's latest attempt is its state. */
export interface WebhookDeliveriesTable {
  delivery_id: string;
  attempt: number;
  status: ColumnType<WebhookDeliveryStatus, WebhookDeliveryStatus | undefined, WebhookDeliveryStatus>;
  http_status: number | null;
  error_code: string | null;
  error_details: string | null;
  scheduled_at: DefaultedTimestamp;
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
  "parley.webhooks": WebhooksTable;
  "parley.webhook_messages": WebhookMessagesTable;
  "parley.webhook_deliveries": WebhookDeliveriesTable;
}
