// The pure parts of `npm run chaos`: fault decisions, recovery measurement,
// error classification and the summary table.
import { describe, expect, it } from "vitest";
import { ChaosEmbedder, fateOf } from "../../scripts/chaos/embedder.js";
import { retryable } from "../../scripts/chaos/load.js";
import { passed, recoveryAfter, renderTable, verdict, worstRecovery, type ScenarioResult } from "../../scripts/chaos/report.js";
import { EmbeddingError } from "../../src/embed/embedder.js";
import { HashingEmbedder } from "../../src/embed/hashing.js";

describe("fateOf", () => {
  it("fails the first failRate of draws, stalls stallRate of the rest, passes the others", () => {
    const rates = { failRate: 0.25, stallRate: 0.5 };
    expect([0, 0.2499, 0.25, 0.6249, 0.625, 0.9999].map((draw) => fateOf(draw, rates)))
      .toEqual(["fail", "fail", "stall", "stall", "pass", "pass"]);
    expect(fateOf(0.5, { failRate: 0, stallRate: 0 })).toBe("pass");
  });
});

describe("ChaosEmbedder", () => {
  const draws = (...values: number[]) => () => values.shift() ?? 0.99;

  it("passes calls through, fails with a retryable EmbeddingError, and times out a stall", async () => {
    const embedder = new ChaosEmbedder(new HashingEmbedder(8), {
      failRate: 0.3, stallRate: 0.5, stallMs: 200, timeoutMs: 20, random: draws(0.99, 0.1, 0.5),
    });
    expect(await embedder.embed(["hello"])).toHaveLength(1);
    await expect(embedder.embed(["hello"])).rejects.toMatchObject({ name: "EmbeddingError", retryable: true, message: /injected/ });
    const stalled = embedder.embed(["hello"]);
    await expect(stalled).rejects.toBeInstanceOf(EmbeddingError);
    await expect(stalled).rejects.toThrow(/timed out after 20 ms/);
    expect(embedder.counts).toEqual({ calls: 3, failed: 1, stalled: 1, timedOut: 1 });
  });

  it("refuses rates outside [0, 1)", () => {
    expect(() => new ChaosEmbedder(new HashingEmbedder(8), { failRate: 1, stallRate: 0, stallMs: 0, timeoutMs: 1 })).toThrow(/failRate/);
  });
});

describe("recovery", () => {
  const at = (seconds: number) => seconds * 1000;

  it("is how long after a fault the last event in flight at that moment finished", () => {
    const events = [
      { created: at(0), finished: at(1) }, // done before the fault
      { created: at(1), finished: at(7) }, // in flight: finished 5 s after
      { created: at(3), finished: at(4) }, // committed after the fault: not its concern
    ];
    expect(recoveryAfter(at(2), events)).toBe(5);
    expect(recoveryAfter(at(10), events)).toBe(0);
    expect(recoveryAfter(at(2), [...events, { created: at(1), finished: null }])).toBe(Infinity);
    expect(worstRecovery([at(2), at(10)], events)).toBe(5);
    expect(worstRecovery([], events)).toBeNull();
  });
});

describe("retryable", () => {
  it("retries connection loss and server restarts, not refusals of the payload", () => {
    const error = (code?: string) => Object.assign(new Error("x"), code === undefined ? {} : { code });
    expect([undefined, "ECONNREFUSED", "57P01", "57P03", "08006", "40001"].map((code) => retryable(error(code)))).toEqual([true, true, true, true, true, true]);
    expect(["22023", "23505", "42501", "P0002"].map((code) => retryable(error(code)))).toEqual([false, false, false, false]);
  });
});

describe("renderTable", () => {
  const result: ScenarioResult = {
    scenario: "worker SIGKILL", conversations: 1500, processed: 1499, failedAsDesigned: 1, lost: 0, doubleCounted: 0,
    scoreMismatches: 0, faults: 9, worstRecovery: 7.25, settle: 6.5, writeRetries: 0, unplannedExits: 0, notes: "9 kills",
  };

  it("draws one row per scenario with its verdict, and the notes below", () => {
    const table = renderTable([result, { ...result, scenario: "PostgreSQL restart", lost: 2, worstRecovery: Infinity, notes: "" }]);
    const lines = table.split("\n");
    expect(lines[0]).toMatch(/^\| scenario +\| conversations \| processed \| failed \(designed\) \| lost \| double-counted \|/);
    expect(lines[2]).toMatch(/^\| worker SIGKILL +\| 1500 +\| 1499 +\| 1 +\| 0 +\| 0 +\| 9 +\| 7\.3 s +\| 6\.5 s .*\| ok +\|$/);
    expect(lines[3]).toMatch(/\| never +\|.*\| FAIL +\|$/);
    expect(lines.at(-1)).toBe("- worker SIGKILL: 9 kills");
  });

  it("passes a scenario only with nothing lost, nothing counted twice, no crash, and a settled pipeline", () => {
    expect(passed(result)).toBe(true);
    expect(verdict({ ...result, lost: 1 })).toBe("FAIL");
    expect(verdict({ ...result, scoreMismatches: 1 })).toBe("FAIL");
    expect(verdict({ ...result, settle: null, unplannedExits: 2 })).toBe("FAIL");
    expect(verdict({ ...result, unplannedExits: 1 })).toBe("crashed");
    expect(passed({ ...result, unplannedExits: 1 })).toBe(false);
  });
});
