import { EventEmitter } from "node:events";
import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { Lifecycle, StartError, type LifecycleHost, type StopSignal } from "../src/lifecycle.js";

interface Line {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A lifecycle on a fake process: signals are emitted by the test, exit codes recorded, log lines kept. */
function harness(drainTimeoutMs = 5000, signals?: readonly StopSignal[]) {
  const lines: Line[] = [];
  const log = pino({ level: "debug" }, new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(text) as Line);
      done();
    },
  }));
  const events = new EventEmitter();
  const exits: number[] = [];
  let exited!: (code: number) => void;
  const firstExit = new Promise<number>((resolve) => (exited = resolve));
  const host: LifecycleHost = {
    on: (event: string, listener: (error?: unknown) => void) => events.on(event, listener),
    exit(code) {
      exits.push(code);
      exited(code);
    },
  };
  const lifecycle = new Lifecycle({ log, host, drainTimeoutMs, ...(signals ? { signals } : {}) });
  const order: string[] = [];
  const part = (name: string, stop: () => Promise<unknown> = async () => {}) =>
    lifecycle.onStop(name, `${name} finished`, async () => {
      order.push(name);
      await stop();
    });
  const messages = () => lines.map((line) => line.msg);
  return { lifecycle, events, exits, firstExit, lines, messages, order, part };
}

describe("Lifecycle", () => {
  it("on the first signal stops the parts newest first, logging each one it finished, then that it stopped, and exits 0", async () => {
    const { lifecycle, events, firstExit, messages, order, part } = harness();
    await lifecycle.start(async () => {
      part("database");
      part("api");
      part("worker");
    });
    expect(lifecycle.state).toBe("running");
    events.emit("SIGINT");
    expect(await firstExit).toBe(0);
    expect(order).toEqual(["worker", "api", "database"]);
    expect(messages()).toEqual([
      "stopping (SIGINT); Ctrl-C again exits at once",
      "worker: worker finished",
      "api: api finished",
      "database: database finished",
      "stopped",
    ]);
  });

  it("leaves SIGHUP alone unless asked to handle it", async () => {
    const { lifecycle, events, exits, order, part } = harness();
    await lifecycle.start(async () => part("worker"));
    expect(events.listenerCount("SIGHUP")).toBe(0);
    events.emit("SIGHUP");
    expect(exits).toEqual([]);
    expect(order).toEqual([]);
  });

  it.each(["SIGTERM", "SIGHUP"])("drains on %s as on SIGINT when asked to handle it", async (signal) => {
    const { lifecycle, events, firstExit, messages, order, part } = harness(5000, ["SIGINT", "SIGTERM", "SIGHUP"]);
    await lifecycle.start(async () => part("worker"));
    events.emit(signal);
    expect(await firstExit).toBe(0);
    expect(order).toEqual(["worker"]);
    expect(messages()[0]).toBe(`stopping (${signal}); a second ${signal} exits at once`);
  });

  it("exits at once on a second signal, 128 + its number, naming what it did not stop", async () => {
    const { lifecycle, events, exits, lines, part } = harness();
    let release!: () => void;
    await lifecycle.start(async () => {
      part("database");
      part("worker", () => new Promise<void>((resolve) => (release = resolve)));
    });
    events.emit("SIGINT");
    await new Promise((resolve) => setImmediate(resolve));
    events.emit("SIGINT");
    expect(exits).toEqual([130]);
    const last = lines.at(-1)!;
    expect(last.msg).toBe("exiting at once on a second SIGINT; not stopped: worker, database");
    expect(last.not_stopped).toEqual(["worker", "database"]);
    expect(last.level).toBe(40);
    release();
  });

  it("goes on with the other parts when one does not stop cleanly, and exits 1", async () => {
    const { lifecycle, events, firstExit, lines, order, part } = harness();
    await lifecycle.start(async () => {
      part("database");
      part("api", async () => {
        throw new Error("socket hang up");
      });
      part("worker");
    });
    events.emit("SIGTERM");
    expect(await firstExit).toBe(1);
    expect(order).toEqual(["worker", "api", "database"]);
    const unclean = lines.find((line) => line.step === "api")!;
    expect(unclean).toMatchObject({ level: 40, msg: "api: did not stop cleanly", err: { message: "socket hang up" } });
    expect(lines.at(-1)).toMatchObject({ msg: "stopped", code: 1 });
  });

  it("logs a failed start-up with its reason, stops what had started and exits 1", async () => {
    const { lifecycle, firstExit, lines, order, part } = harness();
    await lifecycle.start(async () => {
      part("embedded postgres");
      throw new Error("connect ECONNREFUSED 127.0.0.1:5999");
    });
    expect(await firstExit).toBe(1);
    expect(order).toEqual(["embedded postgres"]);
    expect(lines[0]).toMatchObject({ level: 60, msg: "could not start: connect ECONNREFUSED 127.0.0.1:5999" });
    expect(lines.at(-1)).toMatchObject({ msg: "stopped", code: 1 });
  });

  it("exits with a StartError's own code", async () => {
    const { lifecycle, firstExit } = harness();
    await lifecycle.start(async () => {
      throw new StartError("PARLEY_METRICS_PORT: cannot listen on 9464 (EADDRINUSE)", 2);
    });
    expect(await firstExit).toBe(2);
  });

  it("on a signal during start-up aborts its waits, lets it settle, then stops every part, those started meanwhile too", async () => {
    const { lifecycle, events, firstExit, lines, order, part } = harness();
    let aborted = false;
    let finishStarting!: () => void;
    const starting = lifecycle.start(async (signal) => {
      part("database");
      signal.addEventListener("abort", () => (aborted = true));
      await new Promise<void>((resolve) => (finishStarting = resolve));
      part("api");
    });
    events.emit("SIGINT");
    expect(aborted).toBe(true);
    expect(order).toEqual([]);
    finishStarting();
    await starting;
    expect(await firstExit).toBe(0);
    expect(order).toEqual(["api", "database"]);
    expect(lines.some((line) => line.level >= 50)).toBe(false);
  });

  it("does not report a start-up the stop interrupted as a failure", async () => {
    const { lifecycle, events, firstExit, lines } = harness();
    const starting = lifecycle.start(async (signal) => {
      await new Promise<void>((_, reject) => signal.addEventListener("abort", () => reject(new Error("aborted"))));
    });
    events.emit("SIGTERM");
    await starting;
    expect(await firstExit).toBe(0);
    expect(lines.map((line) => line.msg)).toContain("start-up interrupted by the stop");
    expect(lines.some((line) => line.level >= 50)).toBe(false);
  });

  it("exits 1 when stopping takes longer than its limit, naming the part it waited for", async () => {
    const { lifecycle, events, firstExit, lines, part } = harness(50);
    await lifecycle.start(async () => {
      part("database");
      part("worker", () => new Promise(() => {}));
    });
    events.emit("SIGTERM");
    expect(await firstExit).toBe(1);
    expect(lines.at(-1)).toMatchObject({
      level: 50, msg: "exiting: stopping took longer than 0.05 s; not stopped: worker, database", not_stopped: ["worker", "database"],
    });
  });

  it.each([
    ["uncaughtException", "exiting: an uncaught exception"],
    ["unhandledRejection", "exiting: an unhandled promise rejection"],
  ])("logs %s and exits 1 at once, without draining through an unknown state", async (event, message) => {
    const { lifecycle, events, exits, lines, order, part } = harness();
    await lifecycle.start(async () => part("worker"));
    events.emit(event, new Error("Connection terminated unexpectedly"));
    expect(exits).toEqual([1]);
    expect(order).toEqual([]);
    expect(lines.at(-1)).toMatchObject({ level: 60, msg: message, err: { message: "Connection terminated unexpectedly" } });
  });
});
