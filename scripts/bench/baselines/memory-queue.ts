// The in-memory queue with periodic batch flush: fast acknowledgements, and
// a loss window of up to one flush interval when the process dies. The app
// process is a child (memory-queue-server.ts), so that the fault run can
// SIGKILL it; a write here is one IPC round trip to it, a little slower than
// an array push inside the app would be.
import path from "node:path";
import { benchPool } from "../database.js";
import { nextMessage, ROOT, startChild, type Child } from "../children.js";
import type { Design, ProcessingOptions } from "../design.js";
import type { Payload } from "../payloads.js";
import type { QueueReply, QueueStart, QueueWrite } from "./memory-queue-server.js";
import { OneProcessDesign } from "./one-process.js";

export const FLUSH_MS = 1000;
const MAX_BATCH = 500;

export class MemoryQueueDesign extends OneProcessDesign implements Design {
  readonly id = "memory-queue" as const;
  readonly pool;
  // The app flushes and processes what it holds before it exits.
  protected override readonly stopGraceMs = 60_000;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();

  constructor(readonly url: string, poolSize = 4) {
    super();
    this.pool = benchPool(url, poolSize, "parley-bench-memory-queue-client");
  }

  /** Resolves on the app's acknowledgement; rejects if the app dies first. */
  async write(payload: Payload): Promise<void> {
    const server = this.child;
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

  protected async spawn(options: ProcessingOptions): Promise<Child> {
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
    return child;
  }
}
