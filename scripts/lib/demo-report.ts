// The pure parts of `npm run demo`: percentiles, the progress bar and the final report.
import { FRIENDSHIP_LEVELS, type EventStatus } from "../../src/domain.js";

/** Nearest-rank percentiles of `values` (unsorted is fine); null when there are none. */
export function percentiles(values: readonly number[], ranks: readonly number[]): Array<number | null> {
  if (values.length === 0) return ranks.map(() => null);
  const sorted = [...values].sort((a, b) => a - b);
  return ranks.map((rank) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(rank * sorted.length) - 1))]!);
}

/** "[██████░░░░] 60%" with `width` cells. */
export function progressBar(done: number, total: number, width = 30): string {
  const ratio = total <= 0 ? 1 : Math.min(1, Math.max(0, done / total));
  const filled = Math.round(ratio * width);
  return `[${"█".repeat(filled)}${"░".repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}%`;
}

export function seconds(value: number | null): string {
  if (value === null) return "—";
  return value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(2)} s`;
}

export interface UserSummary {
  profile_id: string;
  conversations_in_run: number;
  friendship_level: string;
  friendship_score: number;
  top_topics: string[];
  greeting: string | null;
  talk: string[];
  game: string[];
}

export interface DemoReport {
  seed: number;
  url: string;
  sent: number;
  sendSeconds: number;
  waitSeconds: number;
  statuses: Record<string, number>;
  /** Server side: processed_at - created_at of each PROCESSED event. */
  serverLatencies: number[];
  /** Client side: the 202 arriving to PROCESSED arriving on the SSE stream; empty without a stream. */
  streamLatencies: number[];
  levels: Record<string, number>;
  users: UserSummary[];
  failures: Array<{ conversation_id: string; error_code: string | null; error_details: string | null }>;
}

// Final statuses first: what a run ended with, then what is still on its way.
const STATUS_ORDER: readonly string[] = ["PROCESSED", "FAILED", "PENDING", "PROCESSING"] satisfies EventStatus[];

export function renderReport(report: DemoReport): string {
  const lines: string[] = [];
  const rate = report.sendSeconds > 0 ? ` (${Math.round(report.sent / report.sendSeconds)}/s)` : "";
  lines.push(`Sent ${report.sent} conversations to ${report.url} in ${seconds(report.sendSeconds)}${rate}; all settled ${seconds(report.waitSeconds)} later.`);
  lines.push(`Seed ${report.seed}: \`npm run demo -- --seed ${report.seed}\` sends the same conversations again (nothing new is written).`);
  lines.push("");
  lines.push("Events by status");
  const statuses = [...STATUS_ORDER.filter((s) => s in report.statuses), ...Object.keys(report.statuses).filter((s) => !STATUS_ORDER.includes(s))];
  for (const status of statuses) lines.push(`  ${status.padEnd(12)} ${String(report.statuses[status]).padStart(5)}`);
  lines.push("");
  lines.push("Latency                                   p50        p95        p99");
  const row = (label: string, values: number[]) => {
    const [p50, p95, p99] = percentiles(values, [0.5, 0.95, 0.99]).map(seconds);
    return `  ${label.padEnd(38)} ${p50!.padStart(9)}  ${p95!.padStart(9)}  ${p99!.padStart(9)}`;
  };
  lines.push(row(`commit to PROCESSED (server, n=${report.serverLatencies.length})`, report.serverLatencies));
  if (report.streamLatencies.length > 0) lines.push(row(`202 to PROCESSED on SSE (client, n=${report.streamLatencies.length})`, report.streamLatencies));
  lines.push("");
  const userCount = Object.values(report.levels).reduce((a, b) => a + b, 0);
  lines.push(`Friendship levels of the run's ${userCount} users`);
  for (const level of FRIENDSHIP_LEVELS) lines.push(`  ${level.padEnd(20)} ${String(report.levels[level] ?? 0).padStart(4)}`);
  for (const user of report.users) {
    lines.push("");
    lines.push(`${user.profile_id}: ${user.friendship_level}, score ${user.friendship_score.toFixed(1)}, ${user.conversations_in_run} conversation(s) in this run`);
    if (user.top_topics.length > 0) lines.push(`  likes       ${user.top_topics.join(", ")}`);
    lines.push(`  greeting    ${user.greeting ?? "—"}`);
    lines.push(`  talk        ${user.talk.join(", ") || "—"}`);
    lines.push(`  games       ${user.game.join(", ") || "—"}`);
  }
  if (report.failures.length > 0) {
    lines.push("");
    lines.push(`Not processed (${report.failures.length}); first few:`);
    for (const failure of report.failures.slice(0, 5)) {
      lines.push(`  ${failure.conversation_id}: ${failure.error_code ?? "still pending"} ${failure.error_details ?? ""}`.trimEnd());
    }
  }
  return lines.join("\n");
}

/** Users worth showing: the most active, one from the middle, and one who came once. */
export function pickUsers(counts: ReadonlyMap<string, number>): string[] {
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const picks = [ranked[0], ranked[Math.floor(ranked.length / 2)], ranked[ranked.length - 1]];
  return [...new Set(picks.filter((pick) => pick !== undefined).map(([id]) => id))];
}
