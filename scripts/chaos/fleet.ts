// Worker processes under a supervisor, as systemd or Kubernetes would run
// them: a process that exits is started again after a short pause. Children
// are `node --import tsx <script>` started directly (not through npx), so the
// pid we SIGKILL is the worker itself and not a wrapper that would leave it
// running.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";

export interface FleetOptions {
  script: string;
  args?: string[];
  env: NodeJS.ProcessEnv;
  size: number;
  /** stdout and stderr of every child go here (an open file descriptor). */
  logFd: number;
  restartDelayMs?: number;
}

interface Slot {
  child: ChildProcess;
  /** Set when the chaos run itself killed this child. */
  planned: boolean;
}

export class WorkerFleet {
  private readonly slots: Slot[] = [];
  private stopping = false;
  /** Exits the chaos run did not cause: a worker that gave up on its own. */
  readonly unplannedExits: Array<{ pid: number; code: number | null; signal: string | null; at: number }> = [];
  starts = 0;

  constructor(private readonly options: FleetOptions) {}

  start(): void {
    for (let index = 0; index < this.options.size; index++) this.spawn(index);
  }

  pids(): number[] {
    return this.slots.map((slot) => slot.child.pid!).filter((pid) => pid !== undefined);
  }

  /** SIGKILLs the child in `index`; the supervisor starts a new one. Returns its pid. */
  kill(index: number): number {
    const slot = this.slots[index]!;
    slot.planned = true;
    slot.child.kill("SIGKILL");
    return slot.child.pid!;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.slots.map(async ({ child }) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    }));
  }

  private spawn(index: number): void {
    const child = spawn(process.execPath, ["--import", "tsx", this.options.script, ...(this.options.args ?? [])], {
      env: this.options.env,
      stdio: ["ignore", this.options.logFd, this.options.logFd],
    });
    this.starts++;
    const slot: Slot = { child, planned: false };
    this.slots[index] = slot;
    child.on("exit", (code, signal) => {
      if (this.stopping) return;
      if (!slot.planned) this.unplannedExits.push({ pid: child.pid!, code, signal, at: Date.now() });
      setTimeout(() => {
        if (!this.stopping) this.spawn(index);
      }, this.options.restartDelayMs ?? 500);
    });
  }
}
