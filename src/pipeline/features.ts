// Conversation features: turns, the user's questions, topics and emotion. Pure: data in, data out.

import Sentiment from "sentiment";
import type {
  ConversationFeatures,
  Message,
  SessionEmotion,
  TopicMetrics,
  TopicPrototype,
} from "../domain.js";
import { cosineSimilarity } from "./vectors.js";
import { round } from "./round.js";

/** AFINN-165 sentiment analyzer, built once: it holds no per-call state. */
const analyzer = new Sentiment();

/** Valence at or beyond which a session is labelled positive (or, negated, negative). */
const EMOTION_LABEL_THRESHOLD = 0.05;

const INTERROGATIVES: ReadonlySet<string> = new Set([
  "what", "why", "how", "who", "where", "when", "which",
  "do", "does", "did", "can", "could", "would", "will",
  "is", "are", "have", "has", "should",
]);

/**
 * Number of turns: a turn is a maximal run of consecutive messages by the same speaker.
 * Only `user` and `agent` messages count; `system` messages are skipped and do not split a run.
 */
export function countTurns(messages: Message[]): number {
  let turns = 0;
  let previous: Message["role"] | undefined;
  for (const { role } of messages) {
    if (role === "system") continue;
    if (role !== previous) turns += 1;
    previous = role;
  }
  return turns;
}

/**
 * Questions the user asked, at most one per sentence of a `user` message.
 *
 * A sentence is a question when it ends with '?' (or "?!"; closing quotes and brackets aside), or
 * when it starts with an interrogative word (what, why, how, do, can, is, ...; "what's" too) and
 * does not end with '!' ("how do I reset it" counts, "What a day!" does not). Sentences end at
 * '.', '!' or '?' followed by whitespace or the end of the text, and at line breaks, so "3.5" and
 * "example.com" do not split a sentence.
 */
export function countUserQuestions(messages: Message[]): number {
  let questions = 0;
  for (const message of messages) {
    if (message.role !== "user") continue;
    for (const sentence of splitSentences(message.content)) {
      if (isQuestion(sentence)) questions += 1;
    }
  }
  return questions;
}

function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?]["'”’»)\]}]*)\s+|\n+/u)
    .map((sentence) => sentence.trim())
    .filter((sentence) => /[\p{L}\p{N}]/u.test(sentence));
}

function isQuestion(sentence: string): boolean {
  const ending = /[.!?]*$/.exec(sentence.replace(/["'”’»)\]}]+$/u, ""))?.[0] ?? "";
  if (ending.includes("?")) return true;
  if (ending.includes("!")) return false;
  const firstWord = /^[^\p{L}]*([\p{L}'’]+)/u
    .exec(sentence)?.[1]
    ?.toLowerCase()
    .replace(/[’]/g, "'")
    // "what's", "who'd", "where're" start a question; "can't", "don't" stay whole and do not.
    .replace(/'(s|re|d|ll|ve)$/, "");
  return firstWord !== undefined && INTERROGATIVES.has(firstWord);
}

// One implementation for the whole pipeline; re-exported for the stage's callers.
export { cosineSimilarity };

/**
 * Topics of a conversation from its message vectors (the caller passes user and agent messages only).
 *
 * Each message goes to its most similar prototype (the first one listed wins a tie) when that
 * similarity is >= `threshold`. A topic's `mentions` is its number of messages and its `affinity`
 * is mentions / messageVectors.length, rounded to 4 decimals. Topics with no message are absent.
 */
export function detectTopics(
  messageVectors: Array<Float32Array | number[]>,
  prototypes: TopicPrototype[],
  threshold: number,
): TopicMetrics {
  const mentions = new Map<string, number>();
  const prototypeNorms = prototypes.map((prototype) => squaredNormOf(prototype.vector));
  for (const vector of messageVectors) {
    // The same similarity as cosineSimilarity, computed over the vector's non-zero entries
    // only: a product with an exact zero adds nothing, and bag-of-words vectors are mostly zeros.
    const nonZero = nonZeroIndices(vector);
    let vectorNorm = 0;
    for (const i of nonZero) vectorNorm += vector[i]! * vector[i]!;
    let best: { topic: string; similarity: number } | undefined;
    prototypes.forEach((prototype, p) => {
      if (prototype.vector.length !== vector.length) {
        throw new RangeError(`detectTopics: lengths differ (${vector.length} and ${prototype.vector.length})`);
      }
      let dot = 0;
      for (const i of nonZero) dot += vector[i]! * prototype.vector[i]!;
      const norms = vectorNorm * prototypeNorms[p]!;
      const similarity = norms === 0 ? 0 : dot / Math.sqrt(norms);
      if (best === undefined || similarity > best.similarity) best = { topic: prototype.topic, similarity };
    });
    const winner = best as { topic: string; similarity: number } | undefined;
    if (winner !== undefined && winner.similarity >= threshold) {
      mentions.set(winner.topic, (mentions.get(winner.topic) ?? 0) + 1);
    }
  }
  const metrics: TopicMetrics = {};
  for (const topic of [...mentions.keys()].sort()) {
    const count = mentions.get(topic) ?? 0;
    metrics[topic] = { mentions: count, affinity: round(count / messageVectors.length, 4) };
  }
  return metrics;
}

/** Prototypes are embedded once and reused for every conversation: their norms too. */
const prototypeNormCache = new WeakMap<object, number>();

function squaredNormOf(vector: Float32Array | number[]): number {
  let sum = prototypeNormCache.get(vector);
  if (sum === undefined) {
    sum = 0;
    for (let i = 0; i < vector.length; i++) sum += vector[i]! * vector[i]!;
    prototypeNormCache.set(vector, sum);
  }
  return sum;
}

function nonZeroIndices(vector: ArrayLike<number>): number[] {
  const indices: number[] = [];
  for (let i = 0; i < vector.length; i++) if (vector[i] !== 0) indices.push(i);
  return indices;
}

/**
 * Emotion of the user's side of the conversation, from the AFINN-165 lexicon (`sentiment` package).
 *
 * valence = mean over user messages of `comparative` (score / tokens), clamped to -1..1 and rounded
 * to 4 decimals; positive_messages / negative_messages count user messages with score > 0 / < 0;
 * label is positive when valence >= 0.05, negative when <= -0.05, else neutral. No user message:
 * neutral with valence 0.
 */
export function sessionEmotion(messages: Message[]): SessionEmotion {
  let comparativeSum = 0;
  let userMessages = 0;
  let positive = 0;
  let negative = 0;
  for (const message of messages) {
    if (message.role !== "user") continue;
    const { score, comparative } = analyzer.analyze(message.content);
    userMessages += 1;
    comparativeSum += Number.isFinite(comparative) ? comparative : 0;
    if (score > 0) positive += 1;
    if (score < 0) negative += 1;
  }
  const mean = userMessages === 0 ? 0 : comparativeSum / userMessages;
  const valence = round(Math.min(1, Math.max(-1, mean)), 4);
  const label =
    valence >= EMOTION_LABEL_THRESHOLD ? "positive" : valence <= -EMOTION_LABEL_THRESHOLD ? "negative" : "neutral";
  return { label, valence, positive_messages: positive, negative_messages: negative };
}

/**
 * All features of one conversation. `messageVectors[i]` is the embedding of `messages[i]`;
 * topics are detected on user and agent messages only.
 */
export function extractFeatures(input: {
  messages: Message[];
  messageVectors: Array<Float32Array | number[]>;
  prototypes: TopicPrototype[];
  topicThreshold: number;
}): ConversationFeatures {
  const { messages, messageVectors, prototypes, topicThreshold } = input;
  if (messageVectors.length !== messages.length) {
    throw new Error(
      `extractFeatures: ${messages.length} messages but ${messageVectors.length} message vectors`,
    );
  }
  const spokenVectors = messageVectors.filter((_, i) => messages[i]?.role !== "system");
  return {
    total_turns: countTurns(messages),
    user_initiated_questions: countUserQuestions(messages),
    topic_metrics: detectTopics(spokenVectors, prototypes, topicThreshold),
    session_emotion: sessionEmotion(messages),
  };
}
