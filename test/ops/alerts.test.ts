// The Prometheus alert rules (ops/prometheus/alerts.yml): valid, each one unit-tested with
// `promtool test rules` (firing when it should and quiet when it should not), and each one
// documented in README's table. promtool comes with Debian's prometheus package; .ci/run
// installs it. Without it these tests fail: they do not skip.
import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const ROOT = path.resolve(import.meta.dirname, "../..");
const RULES_DIR = path.join(ROOT, "ops/prometheus");

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
}
interface RuleTest {
  alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }>;
}

function promtool(...args: string[]): string {
  const result = spawnSync("promtool", args, { cwd: RULES_DIR, encoding: "utf8" });
  if (result.error) {
    throw new Error(`promtool could not run (${result.error.message}): install Debian's prometheus package (apt-get install prometheus); .ci/run does`);
  }
  const output = `${result.stdout}${result.stderr}`;
  if (result.status !== 0) throw new Error(`promtool ${args.join(" ")} exited ${result.status}:\n${output}`);
  return output;
}

const rules = async () =>
  (parse(await readFile(path.join(RULES_DIR, "alerts.yml"), "utf8")) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((group) => group.rules);
const ruleTests = async () =>
  (parse(await readFile(path.join(RULES_DIR, "alerts.test.yml"), "utf8")) as { tests: RuleTest[] }).tests.flatMap((test) => test.alert_rule_test ?? []);

describe("ops/prometheus/alerts.yml", () => {
  it("has the alerts the issue asks for, each with a severity, a summary and a description", async () => {
    const all = await rules();
    expect(all.map((rule) => rule.alert)).toEqual(expect.arrayContaining([
      "ParleyEventsFailing", "ParleyOldestPendingTooOld", "ParleyNoLiveWorker", "ParleyLatencyP99High", "ParleyDatabaseDown", "ParleyEmbeddingErrors",
      "ParleyWebhookDeliveriesFailing",
    ]));
    for (const rule of all) {
      expect(["critical", "warning", "info"], rule.alert).toContain(rule.labels.severity);
      expect(rule.annotations.summary, rule.alert).toMatch(/^Parley: /);
      expect(rule.annotations.description.length, rule.alert).toBeGreaterThan(40);
    }
  });

  it("passes promtool check rules", () => {
    expect(promtool("check", "rules", "alerts.yml")).toMatch(/SUCCESS: \d+ rules found/);
  });

  it("passes its unit tests: promtool test rules alerts.test.yml", () => {
    expect(promtool("test", "rules", "alerts.test.yml")).toContain("SUCCESS");
  });

  it("has, for every rule, a test where it fires and one where it stays quiet", async () => {
    const tests = await ruleTests();
    for (const { alert } of await rules()) {
      const mine = tests.filter((test) => test.alertname === alert);
      expect(mine.some((test) => (test.exp_alerts ?? []).length > 0), `${alert} fires in a test`).toBe(true);
      expect(mine.some((test) => (test.exp_alerts ?? []).length === 0), `${alert} stays quiet in a test`).toBe(true);
    }
  });

  it("is documented in README: every rule in the alerts table with its meaning and first check, and nothing else", async () => {
    const readme = await readFile(path.join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("### Alerts"));
    const rows = [...section.matchAll(/^\| `(Parley\w+)` \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$/gm)];
    expect(rows.map((row) => row[1]).sort()).toEqual((await rules()).map((rule) => rule.alert).sort());
    for (const row of rows) expect(row.slice(2).every((cell) => cell.trim().length > 0), row[1]).toBe(true);
  });
});
