// The live event stream's plumbing: one LISTEN connection per process
// (pg-listen) on channel parley_events, fanned out in memory to every SSE
// client. Never polls: the table is read only when a client resumes and when
// the LISTEN connection comes back after a loss, to replay what it missed.
//
// Ordering (migrations/0002_event_notifications.sql): change_seq is drawn in
// commit order and notifications arrive in commit order, so the hub hands out
// a strictly increasing change_seq, and "change_seq > cursor" read from the
// table is exactly what a client with that cursor has not seen.
import pgListen, { type Subscriber } from "pg-listen";
import { sql } from "kysely";
import { z } from "zod";
import type pg from "pg";
import type { Db } from "../db/pool.js";
import type { EventStatus } from "../db/schema.js";
import type { Logger } from "../log.js";

export const EVENT_CHANNEL = "parley_events";

// pg-listen is CommonJS with an ES-style default export; Node's own ESM loader
// hands back module.exports, tsx and vitest the function itself.
type CreateSubscriber = typeof pgListen.default;
const createSubscriber: CreateSubscriber =
  (pgListen as unknown as { default?: CreateSubscriber }).default ?? (pgListen as unknown as CreateSubscriber);

export const eventChangeSchema = z.object({
  event_id: z.string(),
  conversation_id: z.string(),
  profile_id: z.string(),
  status: z.enum(["PENDING", "PROCESSING", "PROCESSED", "FAILED"] satisfies EventStatus[]),
  change_seq: z.string(),
}).meta({ id: "EventChange" });
export type EventChange = z.infer<typeof eventChangeSchema>;

export interface StreamFilter {
  profileId?: string | undefined;
  conversationId?: string | undefined;
}

export function matchesFilter(change: EventChange, filter: StreamFilter): boolean {
  return (filter.profileId === undefined || change.profile_id === filter.profileId)
    && (filter.conversationId === undefined || change.conversation_id === filter.conversationId);
}

/**
 * One client's view of the stream. Live changes offered while the client's
 * backlog is still being written wait; then everything goes out once, in
 * change_seq order, skipping what the client already has.
 */
export class StreamCursor {
  private live = false;
  private waiting: EventChange[] = [];
  private last: bigint;

  constructor(private readonly filter: StreamFilter, start: bigint, private readonly send: (change: EventChange) => void) {
    this.last = start;
  }

  /** The change_seq of the last change sent (or the start): where a reconnect resumes. */
  get position(): bigint {
    return this.last;
  }

  /** A live change from the hub. */
  offer(change: EventChange): void {
    if (!matchesFilter(change, this.filter)) return;
    if (this.live) this.deliver(change);
    else this.waiting.push(change);
  }

  /** A change read from the table (already filtered, in change_seq order). */
  deliver(change: EventChange): void {
    const seq = BigInt(change.change_seq);
    if (seq <= this.last) return;
    this.last = seq;
    this.send(change);
  }

  /** The backlog is written; `floor` is a change_seq the client is known to be past. */
  goLive(floor = 0n): void {
    if (floor > this.last) this.last = floor;
    const waiting = this.waiting.sort((a, b) => compareSeq(a.change_seq, b.change_seq));
    this.waiting = [];
    this.live = true;
    for (const change of waiting) this.deliver(change);
  }
}

function compareSeq(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Changes after `after` (current state of each event), in change_seq order. */
export async function readChanges(db: Db, after: bigint, filter: StreamFilter, limit: number): Promise<EventChange[]> {
  let query = db
    .selectFrom("parley.conversation_events")
    .select([
      sql<string>`event_id::text`.as("event_id"),
      "conversation_id",
      "profile_id",
      "status",
      sql<string>`change_seq::text`.as("change_seq"),
    ])
    .where("change_seq", ">", sql<string>`${after.toString()}::bigint`)
    // The column, not the text alias of the same name: "10" sorts before "9".
    .orderBy(sql`conversation_events.change_seq`)
    .limit(limit);
  if (filter.profileId !== undefined) query = query.where("profile_id", "=", filter.profileId);
  if (filter.conversationId !== undefined) query = query.where("conversation_id", "=", filter.conversationId);
  return query.execute();
}

/** The newest change_seq committed: a fresh client starts after it. */
export async function readHighWater(db: Db): Promise<bigint> {
  const { rows } = await sql<{ seq: string }>`
    select coalesce(max(change_seq), 0)::text as seq from parley.conversation_events`.execute(db);
  return BigInt(rows[0]?.seq ?? "0");
}

export interface EventHubOptions {
  /** How to open the LISTEN connection: a connection string or pg's client options. */
  connection: pg.ClientConfig;
  db: Db;
  log: Logger;
  connectTimeoutMs?: number;
  /** How long pg-listen retries a lost connection before the hub starts a new one. */
  retryTimeoutMs?: number;
}

const CATCH_UP_PAGE = 1000;

/**
 * The process's single LISTEN connection. start() connects on the first
 * client (and again after the connection was given up on); pg-listen
 * reconnects after a loss, and the hub then replays from the table every
 * change after the last one it handed out, holding live notifications back
 * until the replay is done so that order is kept.
 */
export class EventHub {
  private readonly listeners = new Set<(change: EventChange) => void>();
  private subscriber: Subscriber | undefined;
  private connecting: Promise<void> | undefined;
  private highWater = 0n;
  private initialized = false;
  // While the table is read, notifications wait in `held`, so that order is kept.
  private holding = false;
  private replaying = false;
  private replayAgain = false;
  private held: EventChange[] = [];
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectAttempt = 0;
  private closed = false;
  private lost = false;

  constructor(private readonly options: EventHubOptions) {}

  /** Whether notifications flow right now (false while pg-listen reconnects). */
  get listening(): boolean {
    return this.subscriber !== undefined && this.connecting === undefined && !this.lost;
  }

  get clients(): number {
    return this.listeners.size;
  }

  /** Resolves once notifications flow; rejects when PostgreSQL cannot be reached. */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new Error("the event stream is shut down"));
    if (this.subscriber && !this.connecting) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  subscribe(listener: (change: EventChange) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.listeners.clear();
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    if (subscriber) await this.discard(subscriber);
  }

  private async connect(): Promise<void> {
    const { log, db } = this.options;
    // Fail fast through the pool first: a pg-listen client whose very first
    // connect fails goes on retrying in the background on its own.
    await sql`select 1`.execute(db);
    const subscriber = createSubscriber(
      {
        ...this.options.connection,
        application_name: "parley-api-listen",
        connectionTimeoutMillis: this.options.connectTimeoutMs ?? 5000,
      },
      {
        // pg-listen gives up after retryTimeout; the hub then starts afresh.
        retryTimeout: this.options.retryTimeoutMs ?? 10_000,
        retryInterval: (attempt) => Math.min(250 * 2 ** attempt, 2000),
        paranoidChecking: 10_000,
        parse: (text) => {
          try {
            return JSON.parse(text) as unknown;
          } catch {
            return undefined;
          }
        },
      },
    );
    subscriber.events.on("error", (error) => {
      if (subscriber !== this.subscriber) return;
      log.warn({ err: error }, "event stream lost its LISTEN connection; reconnecting");
      this.subscriber = undefined;
      void this.discard(subscriber);
      this.scheduleReconnect();
    });
    subscriber.events.on("reconnect", (attempt) => {
      if (subscriber !== this.subscriber) return;
      // Notifications on the new connection can come before "connected"; they wait for the replay.
      this.holding = true;
      this.lost = true;
      log.warn({ attempt }, "event stream reconnecting to PostgreSQL");
    });
    subscriber.events.on("connected", () => {
      if (subscriber !== this.subscriber) {
        // A client given up on that pg-listen brought back anyway.
        void subscriber.close().catch(() => {});
        return;
      }
      if (this.connecting) return;
      this.lost = false;
      log.info("event stream reconnected; replaying missed changes");
      void this.replay();
    });
    subscriber.notifications.on(EVENT_CHANNEL, (payload: unknown) => {
      if (subscriber === this.subscriber) this.onNotification(payload);
    });

    this.subscriber = subscriber;
    this.holding = true;
    try {
      await subscriber.connect();
      await subscriber.listenTo(EVENT_CHANNEL);
      if (!this.initialized) {
        // The first time, nothing before now is owed to anyone.
        this.highWater = await readHighWater(db);
        this.initialized = true;
      }
    } catch (error) {
      this.subscriber = undefined;
      await this.discard(subscriber);
      throw error;
    }
    if (this.closed) {
      this.subscriber = undefined;
      await this.discard(subscriber);
      throw new Error("the event stream is shut down");
    }
    this.reconnectAttempt = 0;
    this.lost = false;
    // After a connection given up on, this catches up; the first time it only releases what was held.
    void this.replay();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = Math.min(500 * 2 ** this.reconnectAttempt++, 10_000);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closed || this.listeners.size === 0) return; // the next client starts it
      this.start().catch((error: unknown) => {
        this.options.log.warn({ err: error }, "event stream could not reconnect");
        this.scheduleReconnect();
      });
    }, delay);
    this.reconnectTimer.unref();
  }

  private async discard(subscriber: Subscriber): Promise<void> {
    await subscriber.close().catch(() => {});
  }

  private onNotification(payload: unknown): void {
    const parsed = eventChangeSchema.safeParse(payload);
    if (!parsed.success) {
      this.options.log.warn({ payload }, "ignored a malformed parley_events notification");
      return;
    }
    if (this.holding) this.held.push(parsed.data);
    else this.dispatch(parsed.data);
  }

  private dispatch(change: EventChange): void {
    const seq = BigInt(change.change_seq);
    if (seq <= this.highWater) return;
    this.highWater = seq;
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.options.log.error({ err: error }, "event stream listener failed");
      }
    }
  }

  /** Reads from the table every change after the last one handed out, then releases held notifications. */
  private async replay(): Promise<void> {
    if (this.replaying) {
      this.replayAgain = true;
      return;
    }
    this.replaying = true;
    this.holding = true;
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        this.replayAgain = false;
        for (;;) {
          const changes = await readChanges(this.options.db, this.highWater, {}, CATCH_UP_PAGE);
          for (const change of changes) this.dispatch(change);
          if (changes.length < CATCH_UP_PAGE) break;
        }
        if (!this.replayAgain) break;
      } catch (error) {
        this.options.log.warn({ err: error, attempt }, "event stream could not replay missed changes; retrying");
        await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** attempt, 10_000)).unref());
      }
    }
    this.replaying = false;
    // Lost again meanwhile: keep holding; the replay after "connected" releases.
    if (this.lost) return;
    const held = this.held.sort((a, b) => compareSeq(a.change_seq, b.change_seq));
    this.held = [];
    this.holding = false;
    for (const change of held) this.dispatch(change);
  }
}
