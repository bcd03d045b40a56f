// Logs are JSON lines (one object per line, with event_id and conversation_id where they apply)
// for machines: pipes, CI, containers. A person at a terminal gets pino-pretty's lines instead.
// LOG_FORMAT=json|pretty overrides the choice.
import { pino, type Logger } from "pino";
import pretty from "pino-pretty";
import type { Config } from "./config.js";

export type { Logger };
export type LogFormat = NonNullable<Config["logFormat"]>;

/** LOG_FORMAT when set, else pretty when stdout is a terminal, else JSON. */
export function resolveLogFormat(configured: LogFormat | undefined, stdoutIsTTY: boolean | undefined): LogFormat {
  return configured ?? (stdoutIsTTY === true ? "pretty" : "json");
}

export function createLogger(level: string, name = "parley", format?: LogFormat): Logger {
  // Synchronous writes, in either format: pino's default asynchronous stdout flushes what it
  // still buffers at process.exit ahead of a write already under way, so the last lines of a
  // shutdown could come out of order.
  if (resolveLogFormat(format, process.stdout.isTTY) === "json") return pino({ name, level }, pino.destination({ dest: 1, sync: true }));
  // In-process (no transport thread). Colours follow the terminal, NO_COLOR and FORCE_COLOR.
  return pino({ name, level }, pretty({
    sync: true,
    translateTime: "SYS:HH:MM:ss.l",
    ignore: "pid,hostname",
    // The message first, its fields after it on the same line: one event, one line.
    singleLine: true,
  }));
}
