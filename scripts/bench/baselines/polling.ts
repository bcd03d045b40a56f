// The polling design: the writer inserts the rows (one plain statement, no
// queue) and a cron process looks for PENDING rows every 10 s (or 1 s).
import path from "node:path";
import { benchPool } from "../database.js";
import { nextMessage, ROOT, startChild, stopChild, killChild, type Child } from "../children.js";
import type { Design, ProcessingOptions } from "../design.js";
import type { Payload } from "../payloads.js";
import { insertConversations } from "./plain-sql.js";
import type { PollerStart } from "./polling-worker.js";

export class PollingDesign implements Design {
  readonly processes = true;
  readonly pool;
  private poller: Child | undefined;
  private lastOptions: ProcessingOptions | undefined;

  constructor(
    readonly id: "polling-10s" | "polling-1s",
    readonly url: string,
    private readonly intervalMs: number,
    /** A PROCESSING row older than this is taken again (the fault run shortens it). */
    public staleAfterSeconds = 30,
    poolSize = 8,
  ) {
    this.pool = benchPool(url, poolSize, `parley-bench-${id}`);
  }

  async write(payload: Payload): Promise<void> {
    await insertConversations(this.pool, [payload]);
  }

  async writeMany(payloads: readonly Payload[]): Promise<void> {
    await insertConversations(this.pool, payloads);
  }

  async startProcessing(options: ProcessingOptions): Promise<void> {
    this.lastOptions = options;
    const child = startChild(path.join(ROOT, "scripts/bench/baselines/polling-worker.ts"), {});
    const start: PollerStart = {
      type: "start", url: this.url, intervalMs: this.intervalMs, concurrency: options.concurrency * options.workers, embedder: options.embedder,
      staleAfterSeconds: this.staleAfterSeconds,
    };
    child.process.send(start);
    await nextMessage(child, "ready");
    this.poller = child;
  }

  /** SIGKILLs the poller and starts a new one (the fault run). */
  async killPoller(): Promise<number> {
    if (!this.poller || !this.lastOptions) throw new Error("no poller running");
    const pid = this.poller.pid;
    await killChild(this.poller);
    await this.startProcessing(this.lastOptions);
    return pid;
  }

  async stopProcessing(): Promise<void> {
    if (this.poller) await stopChild(this.poller);
    this.poller = undefined;
  }

  backgroundPids(): number[] {
    return this.poller ? [this.poller.pid] : [];
  }

  async close(options: { abandon?: boolean } = {}): Promise<void> {
    if (options.abandon && this.poller) await killChild(this.poller);
    await this.stopProcessing();
    await this.pool.end();
  }
}
