// How every entry point (`npm start`, `npm run worker`, `npm run api`) starts and stops. Start-up
// registers each part's stop function on one stack as the part comes up; the first SIGINT or
// SIGTERM waits for start-up to settle, then stops the parts in reverse order, logging each one
// it finished; a second signal exits at once. Every way out of the process is logged.
import type { Logger } from "./log.js";

export interface StopStep {
  /** What stops, e.g. "worker". */
  name: string;
  /** What stopping it finished, logged after it: "finished the jobs in hand". */
  finished: string;
  stop(): Promise<unknown>;
}

/** The part of `process` a lifecycle listens to and ends; tests pass an EventEmitter and a spy. */
export interface LifecycleHost {
  on(event: StopSignal, listener: () => void): unknown;
  on(event: "uncaughtException" | "unhandledRejection", listener: (error: unknown) => void): unknown;
  exit(code: number): void;
}

export interface LifecycleOptions {
  log: Logger;
  /** Longest a stop may take before the process exits anyway. Default 30 s. */
  drainTimeoutMs?: number;
  host?: LifecycleHost;
  /**
   * The signals that stop the process. Default SIGINT and SIGTERM; SIGHUP is left to Node (exit
   * at once, or ignored under nohup) unless a process owns something a closed terminal must not
   * leave behind, as `npm start` owns its embedded PostgreSQL.
   */
  signals?: readonly StopSignal[];
}

/** Thrown during start-up to exit with a code other than 1 (2: a configuration the process cannot run with). */
export class StartError extends Error {
  override name = "StartError";
  constructor(message: string, readonly exitCode: number, options?: ErrorOptions) {
    super(message, options);
  }
}

// A second signal exits as the shell reports a process killed by it: 128 + its number.
const SIGNAL_EXIT_CODES = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;
export type StopSignal = keyof typeof SIGNAL_EXIT_CODES;

export type LifecycleState = "starting" | "running" | "stopping";

export class Lifecycle {
  private readonly steps: StopStep[] = [];
  private readonly aborter = new AbortController();
  private readonly host: LifecycleHost;
  private readonly log: Logger;
  private readonly drainTimeoutMs: number;
  private starting: Promise<void> = Promise.resolve();
  private current: LifecycleState = "starting";
  private draining: StopStep | undefined;

  constructor(options: LifecycleOptions) {
    this.log = options.log;
    this.drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
    this.host = options.host ?? process;
    for (const signal of options.signals ?? ["SIGINT", "SIGTERM"]) this.host.on(signal, () => this.onSignal(signal));
    // After an error nobody caught, the process's state is unknown: exit now rather than drain
    // through it (a supervisor starts it again; the heartbeat sweep releases its jobs).
    for (const event of ["uncaughtException", "unhandledRejection"] as const) {
      this.host.on(event, (error) => {
        this.log.fatal({ err: error, event }, `exiting: ${event === "uncaughtException" ? "an uncaught exception" : "an unhandled promise rejection"}`);
        this.host.exit(1);
      });
    }
  }

  get state(): LifecycleState {
    return this.current;
  }

  /** Aborted as soon as a stop begins: start-up waits (an embedding provider not answering yet) give up. */
  get signal(): AbortSignal {
    return this.aborter.signal;
  }

  /** Registers a part's stop function; parts stop in the reverse order of their registration. */
  onStop(name: string, finished: string, stop: () => Promise<unknown>): void {
    this.steps.push({ name, finished, stop });
  }

  /**
   * Runs start-up. A failure is logged with its message and stops whatever had started, exiting
   * 1 (or a StartError's code). A signal during start-up lets it settle, then stops everything.
   */
  start(run: (signal: AbortSignal) => Promise<void>): Promise<void> {
    this.starting = run(this.signal).then(
      () => {
        if (this.current === "starting") this.current = "running";
      },
      (error: unknown) => {
        if (this.current === "stopping") {
          this.log.info({ err: error }, "start-up interrupted by the stop");
          return;
        }
        this.log.fatal({ err: error }, `could not start: ${(error as Error).message}`);
        void this.stop("start-up failed", error instanceof StartError ? error.exitCode : 1);
      },
    );
    return this.starting;
  }

  /** Stops every registered part, newest first, then exits with `code` (1 if a part did not stop cleanly). */
  async stop(reason: string, code = 0): Promise<void> {
    if (this.current === "stopping") return;
    this.current = "stopping";
    this.aborter.abort();
    const started = performance.now();
    const timer = setTimeout(() => {
      const left = this.notStopped();
      this.log.error({ not_stopped: left }, `exiting: stopping took longer than ${this.drainTimeoutMs / 1000} s; not stopped: ${left.join(", ")}`);
      this.host.exit(1);
    }, this.drainTimeoutMs);
    timer.unref?.();

    const again = reason === "SIGINT" ? "; Ctrl-C again exits at once" : reason in SIGNAL_EXIT_CODES ? `; a second ${reason} exits at once` : "";
    this.log.info({ reason, steps: this.steps.map((step) => step.name).reverse() }, `stopping (${reason})${again}`);
    await this.starting;
    for (let step = this.steps.pop(); step !== undefined; step = this.steps.pop()) {
      this.draining = step;
      const stepStarted = performance.now();
      try {
        await step.stop();
        this.log.info({ step: step.name, ms: elapsed(stepStarted) }, `${step.name}: ${step.finished}`);
      } catch (error) {
        this.log.warn({ err: error, step: step.name, ms: elapsed(stepStarted) }, `${step.name}: did not stop cleanly`);
        code ||= 1;
      }
    }
    this.draining = undefined;
    clearTimeout(timer);
    this.log.info({ code, ms: elapsed(started) }, "stopped");
    this.host.exit(code);
  }

  private onSignal(signal: StopSignal): void {
    if (this.current !== "stopping") {
      void this.stop(signal, 0);
      return;
    }
    const left = this.notStopped();
    this.log.warn({ signal, not_stopped: left }, `exiting at once on a second ${signal}${left.length ? `; not stopped: ${left.join(", ")}` : ""}`);
    this.host.exit(SIGNAL_EXIT_CODES[signal]);
  }

  /** The parts not stopped yet, in the order they would stop. */
  private notStopped(): string[] {
    const left = this.draining ? [...this.steps, this.draining] : this.steps;
    return left.map((step) => step.name).reverse();
  }
}

function elapsed(since: number): number {
  return Math.round(performance.now() - since);
}
