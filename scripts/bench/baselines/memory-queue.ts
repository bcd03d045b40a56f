// The in-memory queue with periodic batch flush: fast acknowledgements, and
// a loss window of up to one flush interval when the process dies. The app
// process is a child (memory-queue-server.ts), so that the fault run can
// SIGKILL it; a write here is one IPC round trip to it, a little slower than
// an array push inside the app would be.
import path from "node:path";
import { benchPool } from "../database.js";
import { killChild, nextMessage, ROOT, startChild, stopChild, type Child } from "../children.js";
import type { Design, ProcessingOptions } from "../design.js";
import type { Payload } from "../payloads.js";
import type { QueueReply, QueueStart, QueueWrite } from "./memory-queue-server.js";

export const FLUSH_MS = 1000;
const MAX_BATCH = 500;

export class MemoryQueueDesign implements Design {
  readonly id = "memory-queue" as const;
  readonly processes = true;
  readonly pool;
  private server: Child | undefined;
  private lastOptions: ProcessingOptions = { embedder: "hashing", workers: 1, concurrency: 4 };
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();

  constructor(readonly url: string, poolSize = 4) {
    this.pool = benchPool(url, poolSize, "parley-bench-memory-queue-client");
  }

  /** Resolves on the app's acknowledgement; rejects if the app dies first. */
  async write(payload: Payload): Promise<void> {
    const server = this.server;
    if (!server) throw new Error("memory queue: app process not running (startProcessing first)");
    const seq = ++this.seq;
    await new Promise<void>((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      server.process.send({ type: "write", seq, payload } satisfies QueueWrite, (error) => {
        if (error) {
          this.waiting.delete(seq);
          reject(error);
        }
      });
    });
  }

  async startProcessing(options: ProcessingOptions): Promise<void> {
    this.lastOptions = options;
    const child = startChild(path.join(ROOT, "scripts/bench/baselines/memory-queue-server.ts"), {});
    child.process.on("message", (message: QueueReply) => {
      if (message.type !== "ack") return;
      this.waiting.get(message.seq)?.resolve();
      this.waiting.delete(message.seq);
    });
    child.process.once("exit", () => {
      for (const [seq, waiter] of this.waiting) {
        waiter.reject(new Error("memory queue: app process died before acknowledging"));
        this.waiting.delete(seq);
      }
    });
    child.process.send({
      type: "start", url: this.url, flushMs: FLUSH_MS, maxBatch: MAX_BATCH,
      concurrency: options.concurrency * options.workers, embedder: options.embedder,
    } satisfies QueueStart);
    await nextMessage(child, "ready");
    this.server = child;
  }

  /** SIGKILLs the app process mid-run and starts a new one; returns the killed PID. */
  async killServer(): Promise<number> {
    if (!this.server) throw new Error("no app process to kill");
    const pid = this.server.pid;
    const dead = this.server;
    this.server = undefined;
    await killChild(dead);
    await this.startProcessing(this.lastOptions);
    return pid;
  }

  async stopProcessing(): Promise<void> {
    if (this.server) await stopChild(this.server, 60_000);
    this.server = undefined;
  }

  backgroundPids(): number[] {
    return this.server ? [this.server.pid] : [];
  }

  async close(options: { abandon?: boolean } = {}): Promise<void> {
    if (options.abandon && this.server) await killChild(this.server);
    await this.stopProcessing();
    await this.pool.end();
  }
}
