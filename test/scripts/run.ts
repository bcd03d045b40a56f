// Runs a TypeScript entry point (src/main.ts, scripts/*.ts) as its own process, as npm would.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";

const ROOT = path.resolve(import.meta.dirname, "../..");
const TSX = pathToFileURL(path.join(ROOT, "node_modules/tsx/dist/loader.mjs")).href;

export interface Child {
  process: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line matching, or rejects when the process exits first. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
}

/** The command line npm would run for `entry`: node with tsx's loader. */
export function entryCommand(entry: string, args: string[] = []): [string, ...string[]] {
  return [process.execPath, "--import", TSX, path.join(ROOT, entry), ...args];
}

/** `detached`: its own process group, so that a test can signal the group as a terminal's Ctrl-C does. */
export function start(entry: string, args: string[], env: Record<string, string | undefined>, cwd = ROOT, options: { detached?: boolean } = {}): Child {
  return run(entryCommand(entry, args), env, cwd, options);
}

/** Any command, its output collected as start()'s is. A variable set to undefined is removed from its environment. */
export function run(commandLine: string[], env: Record<string, string | undefined>, cwd = ROOT, options: { detached?: boolean } = {}): Child {
  const [command, ...commandArgs] = commandLine;
  const merged = Object.fromEntries(Object.entries({ ...process.env, ...env }).filter(([, value]) => value !== undefined));
  const child = spawn(command!, commandArgs, {
    cwd, env: merged, stdio: ["ignore", "pipe", "pipe"], detached: options.detached ?? false,
  });
  let stdout = "";
  let stderr = "";
  const waiters = new Set<() => void>();
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const waiter of waiters) waiter();
  });
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => {
    resolve(code);
    for (const waiter of waiters) waiter();
  }));
  return {
    process: child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitForLine(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stdout:\n${stdout}\nstderr:\n${stderr}`)), timeoutMs);
        const check = () => {
          const line = stdout.split("\n").find((candidate) => pattern.test(candidate));
          if (line !== undefined) done(undefined, line);
          else if (child.exitCode !== null) done(new Error(`exited with ${child.exitCode} before a line matching ${pattern}; stdout:\n${stdout}\nstderr:\n${stderr}`));
        };
        const done = (error?: Error, line?: string) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (error) reject(error);
          else resolve(line!);
        };
        waiters.add(check);
        check();
      });
    },
  };
}
