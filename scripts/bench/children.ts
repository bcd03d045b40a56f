// Child processes the bench starts (Parley workers, the memory queue's app
// process, the pollers) and what it measures of them.
import { fork, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface Child {
  process: ChildProcess;
  pid: number;
  /** The last lines it wrote (stdout and stderr), for error reports. */
  stderr(): string;
  exited: Promise<number | null>;
}

/**
 * Starts a TypeScript entry point in its own Node process (node --import tsx,
 * so the PID is the process doing the work, not a launcher), with an IPC
 * channel. `env` is added to this process's environment, which is passed
 * through untouched.
 */
export function startChild(entry: string, env: Record<string, string>): Child {
  const child = fork(entry, [], {
    cwd: ROOT,
    execArgv: ["--import", "tsx"],
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  // Parley's worker logs (pino, JSON lines) go to stdout, its crashes to stderr: keep the end of both.
  let tail = "";
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  if (child.pid === undefined) throw new Error(`could not start ${entry}`);
  return { process: child, pid: child.pid, stderr: () => tail, exited };
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stopChild(child: Child, graceMs = 10_000): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill("SIGTERM");
  const timer = setTimeout(() => child.process.kill("SIGKILL"), graceMs);
  await child.exited;
  clearTimeout(timer);
}

export async function killChild(child: Child): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill("SIGKILL");
  await child.exited;
}

/** Resident memory of a process now and at its peak, in MiB (Linux /proc). */
export async function residentMemory(pid: number): Promise<{ rssMiB: number; peakMiB: number } | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
    return { rssMiB: kib("VmRSS") / 1024, peakMiB: kib("VmHWM") / 1024 };
  } catch {
    return null;
  }
}

/** Resolves with the first IPC message of the given type (or rejects if the child exits first). */
export function nextMessage<T extends { type: string }>(child: Child, type: T["type"], timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (typeof message === "object" && message !== null && (message as { type?: unknown }).type === type) {
        cleanup();
        resolve(message as T);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`child ${child.pid} exited (${code}) before "${type}": ${child.stderr()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`child ${child.pid} sent no "${type}" within ${timeoutMs} ms: ${child.stderr()}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.process.off("message", onMessage);
      child.process.off("exit", onExit);
    };
    child.process.on("message", onMessage);
    child.process.once("exit", onExit);
  });
}
