// The load: conversations ended through parley.end_conversation at a steady
// rate, by clients that behave as a careful application does. A call that
// fails because the database went away is retried with the same payload
// (end_conversation is idempotent on conversation_id, so a commit whose answer
// was lost is not stored twice). A conversation counts as acknowledged only
// once a call returned its event id: that is the promise under test.
import pg from "pg";
import type { SampleConversation } from "../lib/sample-conversations.js";
import { sleep } from "./postgres.js";

export interface LoadOptions {
  url: string;
  conversations: readonly SampleConversation[];
  ratePerSecond: number;
  concurrency: number;
}

export interface LoadResult {
  acknowledged: Map<string, string>;
  /** Calls that failed and were tried again. */
  retries: number;
  /** Calls refused as invalid: a bug in the load, never expected. */
  rejected: Array<{ conversation_id: string; message: string }>;
  /** When each write was acknowledged (ms since the epoch), in order. */
  ackTimes: number[];
}

/** Errors after which the same call may succeed: the server or the connection went away. */
export function retryable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string") return true; // socket errors: ECONNREFUSED, "Connection terminated"
  if (/^[A-Z]+$/.test(code)) return true; // ECONNRESET, EPIPE, ...
  return code.startsWith("08") || code.startsWith("57") || code.startsWith("53") || code === "40001" || code === "40P01";
}

// About two minutes of trying: far longer than any outage the scenarios cause.
const MAX_ATTEMPTS = 600;

export async function drive(options: LoadOptions): Promise<LoadResult> {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.concurrency,
    application_name: "parley-chaos-load",
    // Without a connect timeout a call waits forever on a server that is restarting.
    connectionTimeoutMillis: 2000,
  });
  pool.on("error", () => {});
  const result: LoadResult = { acknowledged: new Map(), retries: 0, rejected: [], ackTimes: [] };
  const started = Date.now();
  let next = 0;

  const send = async (conversation: SampleConversation) => {
    for (let attempt = 1; ; attempt++) {
      try {
        const { rows } = await pool.query<{ event_id: string }>("select parley.end_conversation($1::jsonb) as event_id", [JSON.stringify(conversation)]);
        result.acknowledged.set(conversation.conversation_id, rows[0]!.event_id);
        result.ackTimes.push(Date.now());
        return;
      } catch (error) {
        if (!retryable(error) || attempt >= MAX_ATTEMPTS) {
          result.rejected.push({ conversation_id: conversation.conversation_id, message: (error as Error).message });
          return;
        }
        result.retries++;
        await sleep(100 + Math.random() * 200);
      }
    }
  };

  const lane = async () => {
    for (;;) {
      const index = next++;
      const conversation = options.conversations[index];
      if (conversation === undefined) return;
      const due = started + (index * 1000) / options.ratePerSecond;
      if (due > Date.now()) await sleep(due - Date.now());
      await send(conversation);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  await pool.end();
  return result;
}
