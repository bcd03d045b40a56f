// The pure parts of `npm run chaos`: how recovery is measured and how the
// summary table is drawn. Data in, data out.

export interface EventTimes {
  /** When the event was committed (ms since the epoch). */
  created: number;
  /** When it reached PROCESSED or FAILED; null while unfinished. */
  finished: number | null;
}

/**
 * Recovery after one fault: how long after it the last event that was in
 * flight at that moment (committed before it, finished after it) took to
 * finish. An event still unfinished gives Infinity. No event in flight: 0.
 */
export function recoveryAfter(faultAt: number, events: readonly EventTimes[]): number {
  let last = faultAt;
  for (const event of events) {
    if (event.created > faultAt) continue;
    if (event.finished === null) return Infinity;
    if (event.finished > last) last = event.finished;
  }
  return (last - faultAt) / 1000;
}

/** The worst recovery over all faults, in seconds (null when there were none). */
export function worstRecovery(faults: readonly number[], events: readonly EventTimes[]): number | null {
  if (faults.length === 0) return null;
  return Math.max(...faults.map((fault) => recoveryAfter(fault, events)));
}

export interface ScenarioResult {
  scenario: string;
  /** Conversations whose end_conversation call returned success. */
  conversations: number;
  processed: number;
  /** FAILED as the scenario designs it (retries exhausted, with the expected error_code). */
  failedAsDesigned: number;
  /** Acknowledged but missing, unfinished at the deadline, or FAILED for a reason nobody designed. */
  lost: number;
  /** Events applied to friendship_status more than once. */
  doubleCounted: number;
  /** Users whose friendship_score is not the sum of their events' changes. */
  scoreMismatches: number;
  faults: number;
  /** Seconds; null when the scenario injects no timed fault. */
  worstRecovery: number | null;
  /** Seconds from the end of load and faults until every acknowledged conversation was finished. */
  settle: number | null;
  writeRetries: number;
  unplannedExits: number;
  notes: string;
}

/** "ok"; "crashed" when the promises held but a worker process exited on its own (its supervisor restarted it); else "FAIL". */
export function verdict(result: ScenarioResult): "ok" | "crashed" | "FAIL" {
  if (result.lost > 0 || result.doubleCounted > 0 || result.scoreMismatches > 0 || result.settle === null) return "FAIL";
  return result.unplannedExits > 0 ? "crashed" : "ok";
}

export function passed(result: ScenarioResult): boolean {
  return verdict(result) === "ok";
}

const seconds = (value: number | null) =>
  value === null ? "—" : Number.isFinite(value) ? `${value.toFixed(1)} s` : "never";

export function renderTable(results: readonly ScenarioResult[]): string {
  const header = ["scenario", "conversations", "processed", "failed (designed)", "lost", "double-counted", "faults", "worst recovery", "settle", "write retries", "unplanned exits", "verdict"];
  const rows = results.map((r) => [
    r.scenario,
    String(r.conversations),
    String(r.processed),
    String(r.failedAsDesigned),
    String(r.lost),
    String(r.doubleCounted + r.scoreMismatches),
    String(r.faults),
    seconds(r.worstRecovery),
    seconds(r.settle),
    String(r.writeRetries),
    String(r.unplannedExits),
    verdict(r),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(" | ")} |`;
  const rule = `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`;
  const notes = results.filter((r) => r.notes).map((r) => `- ${r.scenario}: ${r.notes}`);
  return [line(header), rule, ...rows.map(line), ...(notes.length > 0 ? ["", ...notes] : [])].join("\n");
}
