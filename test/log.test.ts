// Logs people can read: pretty on a terminal, JSON lines in a pipe, LOG_FORMAT overriding both.
// The processes are real `npm run api`s; the terminal is a real pseudo-terminal from script(1).
import { afterEach, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { parseConfig } from "../src/config.js";
import { resolveLogFormat } from "../src/log.js";
import { entryCommand, run, start, type Child } from "./scripts/run.js";

describe("resolveLogFormat", () => {
  it.each([
    [undefined, true, "pretty"],
    [undefined, false, "json"],
    [undefined, undefined, "json"],
    ["json", true, "json"],
    ["pretty", false, "pretty"],
  ] as const)("LOG_FORMAT %s, stdout a terminal: %s -> %s", (configured, tty, expected) => {
    expect(resolveLogFormat(configured, tty)).toBe(expected);
  });

  it("reads LOG_FORMAT, and rejects a value it does not know, naming it", () => {
    expect(parseConfig({ LOG_FORMAT: "pretty" }).logFormat).toBe("pretty");
    expect(parseConfig({}).logFormat).toBeUndefined();
    expect(() => parseConfig({ LOG_FORMAT: "xml" })).toThrow(/^LOG_FORMAT: /);
  });
});

const env = (): Record<string, string | undefined> => ({
  DATABASE_URL: inject("adminUrl"),
  PARLEY_API_KEYS: "log-test-key-0123456789",
  PORT: "0",
  LOG_LEVEL: "info",
  // What a CI runner or a user's shell may set; the choice must not depend on them.
  LOG_FORMAT: undefined,
  NO_COLOR: undefined,
  FORCE_COLOR: undefined,
});
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
const PRETTY_LINE = /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(parley-api\): api listening \{"address":"http:\/\/127\.0\.0\.1:\d+"/;

let child: Child | undefined;
afterEach(async () => {
  if (child?.process.pid && child.process.exitCode === null) {
    process.kill(-child.process.pid, "SIGTERM");
    await child.exited;
  }
  child = undefined;
});

/** `npm run api` with stdout on a pseudo-terminal: script(1) runs it and copies the terminal's output to its own stdout. */
function onTerminal(extra: Record<string, string | undefined> = {}): Child {
  const command = entryCommand("src/http/main.ts").map((part) => `'${part}'`).join(" ");
  return run(["script", "--quiet", "--return", "--command", command, "/dev/null"], { ...env(), ...extra }, undefined, { detached: true });
}

describe("log lines of npm run api", () => {
  it("are pretty, coloured lines on a terminal", async () => {
    child = onTerminal();
    const line = await child.waitForLine(/api listening/, 30_000);
    expect(line).toMatch(ANSI);
    expect(line.replace(ANSI, "").trim()).toMatch(PRETTY_LINE);
  });

  it("are JSON on a terminal with LOG_FORMAT=json", async () => {
    child = onTerminal({ LOG_FORMAT: "json" });
    const line = await child.waitForLine(/api listening/, 30_000);
    expect(JSON.parse(line.trim())).toMatchObject({ level: 30, name: "parley-api", msg: "api listening" });
  });

  it("are JSON lines in a pipe", async () => {
    child = start("src/http/main.ts", [], env(), undefined, { detached: true });
    const line = await child.waitForLine(/api listening/, 30_000);
    expect(JSON.parse(line)).toMatchObject({ level: 30, name: "parley-api", msg: "api listening" });
  });

  it("are pretty, without colour, in a pipe with LOG_FORMAT=pretty", async () => {
    child = start("src/http/main.ts", [], { ...env(), LOG_FORMAT: "pretty" }, undefined, { detached: true });
    const line = await child.waitForLine(/api listening/, 30_000);
    expect(line).not.toMatch(ANSI);
    expect(line).toMatch(PRETTY_LINE);
  });
});
