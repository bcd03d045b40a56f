// The process's one LISTEN connection (pg-listen, channel parley_events),
// fanned out in memory to every SSE client. A notification only says "a
// transaction that changed events committed" (its payload is that
// transaction's id); the hub then reads the log from where it is, in order,
// and hands each change to its listeners. Nothing polls, except that a
// transaction the hub was told about but cannot read yet (an older
// transaction is still running: the log's horizon, sql/event_changes.sql) is
// asked for again shortly. After the connection comes back, the same read
// catches up on whatever committed meanwhile.
import pgListen, { type Subscriber } from "pg-listen";
import type pg from "pg";
import type { Db } from "../../db/pool.js";
import type { Logger } from "../../log.js";
import { readChanges, readHead, type PositionedChange } from "./changes.js";
import type { Position } from "./position.js";
import { EVENT_CHANNEL } from "../../domain.js";

// pg-listen is CommonJS with an ES-style default export; Node's own ESM loader
// hands back module.exports, tsx and vitest the function itself.
type CreateSubscriber = typeof pgListen.default;
const createSubscriber: CreateSubscriber =
  (pgListen as unknown as { default?: CreateSubscriber }).default ?? (pgListen as unknown as CreateSubscriber);

export interface EventHubOptions {
  /** How to open the LISTEN connection: a connection string or pg's client options. */
  connection: pg.ClientConfig;
  db: Db;
  log: Logger;
  connectTimeoutMs?: number;
  /** How long pg-listen retries a lost connection before the hub starts a new one. */
  retryTimeoutMs?: number;
}

/**
 * The connection's state. `stopped`: no connection (none yet, or given up on
 * after a loss; the next client or the reconnect timer starts one).
 * `connecting`: opening it. `live`: notifications flow. `lost`: pg-listen is
 * reconnecting the same subscriber. `closed`: shut down for good.
 */
type ConnectionState =
  | { kind: "stopped" }
  | { kind: "connecting"; subscriber: Subscriber; ready: Promise<void> }
  | { kind: "live"; subscriber: Subscriber }
  | { kind: "lost"; subscriber: Subscriber }
  | { kind: "closed" };

/** Reading the log: `idle`, `reading`, or `reading` with another read owed when it ends. */
type ReadState = "idle" | "reading" | "reading_again";

const PAGE = 1000;
/** While a notified transaction is still behind the horizon: ask again after 10 ms, doubling to 1 s. */
const SETTLE_RETRY_MS = { first: 10, max: 1000 };

export class EventHub {
  private readonly listeners = new Set<(item: PositionedChange) => void>();
  private connection: ConnectionState = { kind: "stopped" };
  private reading: ReadState = "idle";
  /** The last change handed out; null until the first connection sets it to the log's head. */
  private position: Position | null = null;
  /** The newest transaction a notification announced. */
  private announced = 0n;
  private settleTimer: NodeJS.Timeout | undefined;
  private settleDelay = SETTLE_RETRY_MS.first;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectAttempt = 0;

  constructor(private readonly options: EventHubOptions) {}

  /** Whether notifications flow right now (false while pg-listen reconnects). */
  get listening(): boolean {
    return this.connection.kind === "live";
  }

  get clients(): number {
    return this.listeners.size;
  }

  /** Resolves once notifications flow; rejects when PostgreSQL cannot be reached. */
  start(): Promise<void> {
    switch (this.connection.kind) {
      case "closed":
        return Promise.reject(new Error("the event stream is shut down"));
      case "live":
      case "lost":
        return Promise.resolve();
      case "connecting":
        return this.connection.ready;
      case "stopped":
        return this.connect();
    }
  }

  subscribe(listener: (item: PositionedChange) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    const previous = this.connection;
    this.connection = { kind: "closed" };
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.settleTimer);
    this.listeners.clear();
    if (previous.kind !== "stopped" && previous.kind !== "closed") await discard(previous.subscriber);
  }

  private connect(): Promise<void> {
    const { log, db } = this.options;
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
        parse: (text) => text,
      },
    );
    const owns = () => this.connection.kind !== "stopped" && this.connection.kind !== "closed" && this.connection.subscriber === subscriber;
    subscriber.events.on("error", (error) => {
      if (!owns()) return;
      log.warn({ err: error }, "event stream lost its LISTEN connection; reconnecting");
      this.connection = { kind: "stopped" };
      void discard(subscriber);
      this.scheduleReconnect();
    });
    subscriber.events.on("reconnect", (attempt) => {
      if (!owns() || this.connection.kind === "connecting") return;
      this.connection = { kind: "lost", subscriber };
      log.warn({ attempt }, "event stream reconnecting to PostgreSQL");
    });
    subscriber.events.on("connected", () => {
      if (!owns()) {
        // A client given up on that pg-listen brought back anyway.
        void subscriber.close().catch(() => {});
        return;
      }
      if (this.connection.kind !== "lost") return;
      this.connection = { kind: "live", subscriber };
      log.info("event stream reconnected; reading what committed meanwhile");
      this.read();
    });
    subscriber.notifications.on(EVENT_CHANNEL, (payload: unknown) => {
      if (!owns()) return;
      if (typeof payload === "string" && /^\d{1,20}$/.test(payload)) {
        const txid = BigInt(payload);
        if (txid > this.announced) this.announced = txid;
      }
      this.read();
    });

    const ready = (async () => {
      try {
        // Fail fast through the pool first: a pg-listen client whose very first
        // connect fails goes on retrying in the background on its own.
        const head = await readHead(db);
        await subscriber.connect();
        await subscriber.listenTo(EVENT_CHANNEL);
        // The first time, nothing before the head is owed to anyone; later, catch up from where the hub was.
        this.position ??= head;
      } catch (error) {
        if (owns()) this.connection = { kind: "stopped" };
        await discard(subscriber);
        throw error;
      }
      if (this.connection.kind === "closed") {
        await discard(subscriber);
        throw new Error("the event stream is shut down");
      }
      this.connection = { kind: "live", subscriber };
      this.reconnectAttempt = 0;
      this.read();
    })();
    this.connection = { kind: "connecting", subscriber, ready };
    return ready;
  }

  private scheduleReconnect(): void {
    if (this.connection.kind === "closed" || this.reconnectTimer) return;
    const delay = Math.min(500 * 2 ** this.reconnectAttempt++, 10_000);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.connection.kind !== "stopped" || this.listeners.size === 0) return; // the next client starts it
      this.start().catch((error: unknown) => {
        this.options.log.warn({ err: error }, "event stream could not reconnect");
        this.scheduleReconnect();
      });
    }, delay);
    this.reconnectTimer.unref();
  }

  /** Reads the log from the hub's position and hands out what it finds; one read at a time. */
  private read(): void {
    if (this.reading !== "idle") {
      this.reading = "reading_again";
      return;
    }
    if (this.position === null || this.connection.kind === "closed") return;
    this.reading = "reading";
    void this.readAll().finally(() => {
      const again = this.reading === "reading_again";
      this.reading = "idle";
      if (again) this.read();
    });
  }

  private async readAll(): Promise<void> {
    for (let attempt = 0; this.connection.kind !== "closed"; attempt++) {
      try {
        let horizon = 0n;
        for (;;) {
          const read = await readChanges(this.options.db, this.position!, {}, PAGE, false);
          horizon = read.horizon;
          for (const item of read.changes) this.dispatch(item);
          if (read.changes.length < PAGE) break;
        }
        this.awaitSettling(horizon);
        return;
      } catch (error) {
        this.options.log.warn({ err: error, attempt }, "event stream could not read the change log; retrying");
        await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** attempt, 10_000)).unref());
      }
    }
  }

  /** A transaction announced but not yet below the horizon is read again shortly. */
  private awaitSettling(horizon: bigint): void {
    clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
    if (this.announced < horizon) {
      this.settleDelay = SETTLE_RETRY_MS.first;
      return;
    }
    this.settleTimer = setTimeout(() => {
      this.settleTimer = undefined;
      this.read();
    }, this.settleDelay);
    this.settleTimer.unref();
    this.settleDelay = Math.min(this.settleDelay * 2, SETTLE_RETRY_MS.max);
  }

  private dispatch(item: PositionedChange): void {
    this.position = item.at;
    for (const listener of this.listeners) {
      try {
        listener(item);
      } catch (error) {
        this.options.log.error({ err: error }, "event stream listener failed");
      }
    }
  }
}

async function discard(subscriber: Subscriber): Promise<void> {
  await subscriber.close().catch(() => {});
}
