// Parley as shipped: parley.end_conversation (or end_conversations) from a
// Node caller, processed by `npm run worker` processes (src/worker/main.ts)
// that graphile-worker wakes through LISTEN/NOTIFY.
import path from "node:path";
import { benchPool } from "../database.js";
import { killChild, ROOT, startChild, stopChild, type Child } from "../children.js";
import type { Design, ProcessingOptions } from "../design.js";
import type { Payload } from "../payloads.js";

export class ParleyDesign implements Design {
  readonly id = "parley" as const;
  readonly processes = true;
  readonly pool;
  /** PARLEY_WORKER_STALE_AFTER for workers started from now on (the fault run shortens it). */
  staleAfterSeconds: number | undefined;
  private workers: Child[] = [];
  private lastOptions: ProcessingOptions | undefined;

  constructor(readonly url: string, poolSize = 8) {
    this.pool = benchPool(url, poolSize, "parley-bench-client");
  }

  async write(_payload: Payload, json: string): Promise<void> {
    await this.pool.query({ name: "end_conversation", text: "select parley.end_conversation($1::jsonb)", values: [json] });
  }

  async writeMany(_payloads: readonly Payload[], json: readonly string[]): Promise<void> {
    await this.pool.query({ name: "end_conversations", text: "select parley.end_conversations($1::jsonb)", values: [`[${json.join(",")}]`] });
  }

  async startProcessing(options: ProcessingOptions): Promise<void> {
    this.lastOptions = options;
    const started = Array.from({ length: options.workers }, () => this.spawn(options));
    this.workers.push(...started);
    await this.waitForHeartbeats(started);
  }

  /** Kills one worker with SIGKILL and starts a replacement; returns the killed PID. */
  async killWorker(index = 0): Promise<number> {
    const victim = this.workers[index];
    if (!victim || !this.lastOptions) throw new Error("no worker to kill");
    await killChild(victim);
    const replacement = this.spawn(this.lastOptions);
    this.workers[index] = replacement;
    await this.waitForHeartbeats([replacement]);
    return victim.pid;
  }

  async stopProcessing(): Promise<void> {
    await Promise.all(this.workers.map((worker) => stopChild(worker)));
    this.workers = [];
  }

  backgroundPids(): number[] {
    return this.workers.map((worker) => worker.pid);
  }

  async close(options: { abandon?: boolean } = {}): Promise<void> {
    if (options.abandon) await Promise.all(this.workers.map((worker) => killChild(worker)));
    await this.stopProcessing();
    await this.pool.end();
  }

  private spawn(options: ProcessingOptions): Child {
    return startChild(path.join(ROOT, "src/worker/main.ts"), {
      DATABASE_URL: this.url,
      PARLEY_EMBEDDER: options.embedder,
      PARLEY_CONCURRENCY: String(options.concurrency),
      LOG_LEVEL: "warn",
      // Several workers (and other people's) on one machine: no fixed metrics port.
      PARLEY_METRICS_PORT: "0",
      ...(this.staleAfterSeconds ? { PARLEY_WORKER_STALE_AFTER: String(this.staleAfterSeconds) } : {}),
    });
  }

  /** A worker is ready once its pool has started and recorded its first heartbeat. */
  private async waitForHeartbeats(children: Child[]): Promise<void> {
    const deadline = performance.now() + 60_000;
    const pids = children.map((child) => child.pid);
    for (;;) {
      const { rows } = await this.pool.query<{ ready: number }>(
        "select count(distinct pid)::int as ready from parley.worker_heartbeats where pid = any($1::int[])", [pids]);
      if (rows[0]!.ready >= pids.length) return;
      const dead = children.find((child) => child.process.exitCode !== null);
      if (dead) throw new Error(`parley worker ${dead.pid} exited at start: ${dead.stderr()}`);
      if (performance.now() > deadline) throw new Error(`parley workers not ready after 60 s: ${children.map((c) => c.stderr()).join("\n")}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
