// What the memory queue and the polling designs share: their processing is one
// child process (the memory queue's app, the poller), which they start, stop,
// abandon, and which the fault run SIGKILLs and replaces.
import type pg from "pg";
import { killChild, stopChild, type Child } from "../children.js";
import type { ProcessingOptions } from "../design.js";

export abstract class OneProcessDesign {
  readonly processes = true;
  abstract readonly pool: pg.Pool;
  /** The running process: none before startProcessing, after stopProcessing, or while it is replaced. */
  protected child: Child | undefined;
  private lastOptions: ProcessingOptions | undefined;
  /** How long a stopped process may take to finish its work before it is SIGKILLed. */
  protected readonly stopGraceMs: number = 10_000;

  /** Starts the process; resolves once it is ready. */
  protected abstract spawn(options: ProcessingOptions): Promise<Child>;

  async startProcessing(options: ProcessingOptions): Promise<void> {
    this.lastOptions = options;
    this.child = await this.spawn(options);
  }

  /** SIGKILLs the process mid-run and starts a new one with the same options; returns the killed PID. */
  async killAndRestart(): Promise<number> {
    const dead = this.child;
    if (!dead || !this.lastOptions) throw new Error("no background process to kill");
    this.child = undefined;
    await killChild(dead);
    await this.startProcessing(this.lastOptions);
    return dead.pid;
  }

  async stopProcessing(): Promise<void> {
    if (this.child) await stopChild(this.child, this.stopGraceMs);
    this.child = undefined;
  }

  backgroundPids(): number[] {
    return this.child ? [this.child.pid] : [];
  }

  async close(options: { abandon?: boolean } = {}): Promise<void> {
    if (options.abandon && this.child) await killChild(this.child);
    await this.stopProcessing();
    await this.pool.end();
  }
}
