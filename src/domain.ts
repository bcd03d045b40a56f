// Parley's domain model: the vocabularies (roles, bot types, levels, statuses) and the shapes
// every layer shares, from the SQL API's payloads to the pure stages. Nothing here does I/O.

export const ROLES = ["user", "agent", "system"] as const;
export type Role = (typeof ROLES)[number];

export const BOT_TYPES = ["TALK", "GREETING", "GAME_ACTIVITY"] as const;
export type BotType = (typeof BOT_TYPES)[number];

export const FRIENDSHIP_LEVELS = ["PHASE1_STRANGER", "PHASE2_ACQUAINTANCE", "PHASE3_FRIEND"] as const;
export type FriendshipLevel = (typeof FRIENDSHIP_LEVELS)[number];

/** An event's status (parley.conversation_events.status); the state machine is in sql/. */
/** The channel a transaction that changed events NOTIFYs with its id (sql/_event_changes.sql sends it too); the live stream LISTENs on it. */
export const EVENT_CHANNEL = "parley_events";

export const EVENT_STATUSES = ["PENDING", "PROCESSING", "PROCESSED", "FAILED"] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

/** Why an event failed or waits for a retry (parley.conversation_events.error_code). */
export const EVENT_ERROR_CODES = ["empty_conversation", "embedding_failed", "attempts_exhausted", "processing_error"] as const;
export type EventErrorCode = (typeof EVENT_ERROR_CODES)[number];

/** The statuses a webhook can subscribe to: an event's final ones. */
export const WEBHOOK_EVENT_KINDS = ["PROCESSED", "FAILED"] as const satisfies readonly EventStatus[];
export type WebhookEventKind = (typeof WEBHOOK_EVENT_KINDS)[number];

/** A webhook delivery's status (parley.webhook_deliveries.status, its latest attempt's). */
export const WEBHOOK_DELIVERY_STATUSES = ["PENDING", "DELIVERED", "FAILED"] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

export interface Message {
  role: Role;
  content: string;
}

/** One topic seen in a conversation. */
export interface TopicMetric {
  /** Messages whose nearest topic (above the similarity threshold) is this one. */
  mentions: number;
  /** Share of the conversation's user and agent messages about this topic, 0..1. */
  affinity: number;
}
export type TopicMetrics = Record<string, TopicMetric>;

export interface SessionEmotion {
  label: "positive" | "neutral" | "negative";
  /** Mean sentiment of the user's messages, clamped to -1..1. */
  valence: number;
  positive_messages: number;
  negative_messages: number;
}

export interface ConversationFeatures {
  total_turns: number;
  user_initiated_questions: number;
  topic_metrics: TopicMetrics;
  session_emotion: SessionEmotion;
}

export interface TopicPrototype {
  topic: string;
  vector: Float32Array | number[];
}

export interface ScoreWeights {
  turns: number;
  questions: number;
  topics: number;
  emotion: number;
  /** Turns beyond this add nothing more. */
  turnsCap: number;
  questionsCap: number;
  topicsCap: number;
}

export interface LevelThresholds {
  /** Score from which a user is PHASE2_ACQUAINTANCE. */
  acquaintance: number;
  /** Score from which a user is PHASE3_FRIEND. */
  friend: number;
}

export interface FriendshipState {
  friendship_score: number;
  friendship_level: FriendshipLevel;
  /** Per topic: total mentions over all conversations and a moving average of affinity. */
  topic_metrics: TopicMetrics;
}

export interface CatalogAgent {
  agent_id: string;
  agent_type: BotType;
  name: string;
  topics: string[];
  levels: FriendshipLevel[];
}

export interface RankedAgent {
  agent_id: string;
  name: string;
  score: number;
}

export interface AgentCandidates {
  greeting_agent: RankedAgent | null;
  talk_candidates: RankedAgent[];
  game_candidates: RankedAgent[];
}

export interface RetryPolicy {
  /** Delay in seconds before attempt n+1, indexed by n-1; the last entry repeats. */
  scheduleSeconds: number[];
  maxAttempts: number;
}
