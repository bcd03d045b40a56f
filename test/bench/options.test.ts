import { describe, expect, it } from "vitest";
import { parseArgs, planFor, UsageError } from "../../scripts/bench/options.js";

describe("parseArgs", () => {
  it("defaults to the full run of every scenario", () => {
    expect(parseArgs([])).toEqual({ quick: false, only: [], outDir: "bench/results", seed: 42 });
  });

  it("reads --quick, --only, --out and --seed", () => {
    expect(parseArgs(["--quick", "--only", "single,saturation", "--out", "/tmp/x", "--seed", "7"]))
      .toEqual({ quick: true, only: ["single", "saturation"], outDir: "/tmp/x", seed: 7 });
  });

  it("refuses unknown arguments and scenarios with a usage error", () => {
    expect(() => parseArgs(["--fast"])).toThrow(UsageError);
    expect(() => parseArgs(["--only", "single,nope"])).toThrow(/unknown scenario "nope"/);
    expect(() => parseArgs(["--seed", "x"])).toThrow(/integer/);
    expect(() => parseArgs(["--out"])).toThrow(/needs a value/);
  });
});

describe("planFor", () => {
  it("runs scenario 5 on a million events in the full run, and says --quick is smaller", () => {
    expect(planFor(false).inspectionEvents).toBeGreaterThanOrEqual(1_000_000);
    expect(planFor(true).inspectionEvents).toBeLessThan(planFor(false).inspectionEvents);
  });

  it("searches a user with 1,000 conversations among 20,000 in the full run, fewer in --quick", () => {
    expect(planFor(false)).toMatchObject({ searchConversations: 20_000, searchUserConversations: 1_000 });
    expect(planFor(true).searchConversations).toBeLessThan(20_000);
    expect(parseArgs(["--only", "search"]).only).toEqual(["search"]);
  });

  it("keeps the issue's sustained rate in both runs, and its 100-conversation bursts in the full run", () => {
    for (const quick of [true, false]) expect(planFor(quick).sustainedRate).toBe(200);
    expect(planFor(false).concurrentCount).toBe(100);
    expect(planFor(false).pollingTenInTimedScenarios).toBe(true);
    expect(planFor(false).sustainedDesigns).toBe("all");
  });
});
