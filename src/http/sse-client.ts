// A small Node client of GET /v1/events/stream, for scripts and tests
// (browsers have EventSource, which cannot send an Authorization header; use
// a fetch-based client there too). It records when each message arrived.
import { SseParser, type ParsedSseMessage } from "./sse.js";

export interface ReceivedMessage extends ParsedSseMessage {
  /** performance.now() when the message was parsed. */
  receivedAt: number;
}

export class EventStreamError extends Error {
  override name = "EventStreamError";
  constructor(readonly status: number, readonly body: string) {
    super(`event stream answered ${status}: ${body}`);
  }
}

export interface EventStreamClient {
  readonly messages: ReceivedMessage[];
  /** The last id received, to resume with. */
  readonly cursor: string;
  /** The first message that satisfies the predicate, already received or yet to come. */
  waitFor(predicate: (message: ReceivedMessage) => boolean, timeoutMs?: number): Promise<ReceivedMessage>;
  onMessage(listener: (message: ReceivedMessage) => void): void;
  close(): void;
  /** Settles when the server ends the stream or close() is called. */
  readonly ended: Promise<void>;
}

export interface OpenStreamOptions {
  apiKey?: string;
  lastEventId?: string;
  /** Query parameters: profile_id, conversation_id. */
  query?: Record<string, string>;
}

export async function openEventStream(baseUrl: string, options: OpenStreamOptions = {}): Promise<EventStreamClient> {
  const url = new URL("/v1/events/stream", baseUrl);
  for (const [key, value] of Object.entries(options.query ?? {})) url.searchParams.set(key, value);
  const controller = new AbortController();
  const headers: Record<string, string> = { accept: "text/event-stream" };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  if (options.lastEventId !== undefined) headers["last-event-id"] = options.lastEventId;
  const response = await fetch(url, { headers, signal: controller.signal });
  if (response.status !== 200 || !response.body) {
    throw new EventStreamError(response.status, await response.text());
  }

  const messages: ReceivedMessage[] = [];
  const listeners = new Set<(message: ReceivedMessage) => void>();
  const parser = new SseParser();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const ended = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        for (const parsed of parser.push(value)) {
          const message = { ...parsed, receivedAt: performance.now() };
          messages.push(message);
          for (const listener of listeners) listener(message);
        }
      }
    } catch {
      // Aborted by close(), or the connection dropped: either way the stream is over.
    }
  })();

  return {
    messages,
    get cursor() {
      return parser.cursor;
    },
    onMessage(listener) {
      listeners.add(listener);
    },
    waitFor(predicate, timeoutMs = 10_000) {
      const seen = messages.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(new Error(`no matching event-stream message within ${timeoutMs} ms (got ${messages.length})`));
        }, timeoutMs);
        const listener = (message: ReceivedMessage) => {
          if (!predicate(message)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(message);
        };
        listeners.add(listener);
        void ended.then(() => {
          if (!listeners.has(listener)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          reject(new Error(`the event stream ended before a matching message (got ${messages.length})`));
        });
      });
    },
    close() {
      controller.abort();
    },
    ended,
  };
}
