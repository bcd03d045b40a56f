// The synchronous design: every message is inserted with its own commit, and
// the conversation is processed inline before the caller gets its answer.
// Durable and simple; the caller pays for all of it.
import { benchPool } from "../database.js";
import type { Design, ProcessingOptions } from "../design.js";
import { toRows, type Payload } from "../payloads.js";
import { createProcessor, type Processor } from "./processing.js";

export class SynchronousDesign implements Design {
  readonly id = "synchronous" as const;
  readonly processes = true;
  readonly pool;
  private processor: Processor;

  constructor(readonly url: string, poolSize = 8) {
    this.pool = benchPool(url, poolSize, "parley-bench-synchronous");
    this.processor = createProcessor(this.pool, "hashing");
  }

  async write(payload: Payload): Promise<void> {
    const rows = toRows(payload);
    const [id, profile, botType, botId, botName, start, end, count, metadata] = rows.conversation;
    const client = await this.pool.connect();
    let eventId: string;
    try {
      await client.query({
        name: "sync_conversation",
        text: `insert into parley.conversations
                 (conversation_id, profile_id, bot_type, bot_id, bot_name, started_at, ended_at, is_active, message_count, metadata)
               values ($1, $2, $3, $4, $5, $6, $7, false, $8, $9)`,
        values: [id, profile, botType, botId, botName, start, end, count, metadata],
      });
      for (let i = 0; i < rows.messages.seq.length; i++) {
        await client.query({
          name: "sync_message",
          text: "insert into parley.messages (conversation_id, seq, role, content, sent_at) values ($1, $2, $3, $4, $5)",
          values: [id, rows.messages.seq[i], rows.messages.role[i], rows.messages.content[i], rows.messages.sentAt[i]],
        });
      }
      const { rows: event } = await client.query<{ event_id: string }>({
        name: "sync_event",
        text: "insert into parley.conversation_events (conversation_id, profile_id) values ($1, $2) returning event_id",
        values: [id, profile],
      });
      eventId = event[0]!.event_id;
    } finally {
      client.release();
    }
    await this.processor.process(eventId);
  }

  /** Processing happens inline; only the embedder can be chosen. */
  async startProcessing(options: ProcessingOptions): Promise<void> {
    await this.processor.close();
    this.processor = createProcessor(this.pool, options.embedder);
  }

  async stopProcessing(): Promise<void> {}

  backgroundPids(): number[] {
    return [];
  }

  async close(): Promise<void> {
    await this.processor.close();
    await this.pool.end();
  }
}
