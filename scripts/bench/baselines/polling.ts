// The polling design: the writer inserts the rows (one plain statement, no
// queue) and a cron process looks for PENDING rows every 10 s (or 1 s).
import path from "node:path";
import { benchPool } from "../database.js";
import { nextMessage, ROOT, startChild, type Child } from "../children.js";
import type { Design, ProcessingOptions } from "../design.js";
import type { Payload } from "../payloads.js";
import { insertConversations } from "./plain-sql.js";
import type { PollerStart } from "./polling-worker.js";
import { OneProcessDesign } from "./one-process.js";

export class PollingDesign extends OneProcessDesign implements Design {
  readonly pool;

  constructor(
    readonly id: "polling-10s" | "polling-1s",
    readonly url: string,
    private readonly intervalMs: number,
    /** A PROCESSING row older than this is taken again (the fault run shortens it). */
    public staleAfterSeconds = 30,
    poolSize = 8,
  ) {
    super();
    this.pool = benchPool(url, poolSize, `parley-bench-${id}`);
  }

  async write(payload: Payload): Promise<void> {
    await insertConversations(this.pool, [payload]);
  }

  async writeMany(payloads: readonly Payload[]): Promise<void> {
    await insertConversations(this.pool, payloads);
  }

  protected async spawn(options: ProcessingOptions): Promise<Child> {
    const child = startChild(path.join(ROOT, "scripts/bench/baselines/polling-worker.ts"), {});
    const start: PollerStart = {
      type: "start", url: this.url, intervalMs: this.intervalMs, concurrency: options.concurrency * options.workers, embedder: options.embedder,
      staleAfterSeconds: this.staleAfterSeconds,
    };
    child.process.send(start);
    await nextMessage(child, "ready");
    return child;
  }
}
