// The conversations every design receives: the project's sample generator,
// with 20 messages each and a unique tag per message. The tag matters: the
// generator builds texts from templates, so without it most messages would
// repeat and the embedding cache would answer instead of the embedder, which
// flatters every design's processing rate (real chats repeat far less).
import { sampleConversations, type SampleConversation } from "../lib/sample-conversations.js";

export type Payload = SampleConversation;

export const MESSAGES_PER_CONVERSATION = 20;

export interface PayloadSet {
  payloads: Payload[];
  /** The same payloads as JSON text, serialised once outside the timed paths. */
  json: string[];
}

/** `count` payloads; `prefix` keeps ids unique per scenario and design database. */
export function makePayloads(count: number, seed: number, prefix: string): PayloadSet {
  const payloads = sampleConversations(count, seed, {
    idPrefix: `${prefix}_`,
    userPrefix: `${prefix}_user_`,
    messages: [MESSAGES_PER_CONVERSATION, MESSAGES_PER_CONVERSATION],
  }).map(tagMessages);
  return { payloads, json: payloads.map((payload) => JSON.stringify(payload)) };
}

/** Appends "(conversation id #n)" to each message, so no two texts are equal. */
export function tagMessages(payload: Payload): Payload {
  return {
    ...payload,
    conversation_log: payload.conversation_log.map((message, index) => ({
      ...message,
      content: `${message.content} (${payload.conversation_id} #${index + 1})`,
    })),
  };
}

/** Rows per conversation as Parley stores them: the conversation, its messages, its event. */
export function rowsPerConversation(payload: Payload): number {
  return 2 + payload.conversation_log.length;
}

/** The rows a plain-SQL design writes for a payload, column by column. */
export interface ConversationRows {
  conversation: [id: string, profile: string, botType: string, botId: string, botName: string, start: string, end: string, messageCount: number, metadata: string];
  messages: {
    seq: number[];
    role: string[];
    content: string[];
    sentAt: string[];
  };
}

export function toRows(payload: Payload): ConversationRows {
  const log = payload.conversation_log;
  return {
    conversation: [
      payload.conversation_id, payload.profile_id, payload.bot_type, payload.bot_id, payload.bot_name,
      payload.start_time, payload.end_time, log.length, JSON.stringify(payload.metadata),
    ],
    messages: {
      seq: log.map((_, index) => index + 1),
      role: log.map((message) => message.role),
      content: log.map((message) => message.content),
      sentAt: log.map((message) => message.timestamp),
    },
  };
}
