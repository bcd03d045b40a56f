// What every scenario gets: the run's plan, its designs, and a place to put
// what it measured. Progress goes to stderr; stdout is for the results table.
import type { TargetId } from "./evaluate.js";
import type { BenchDatabases, BenchServer } from "./database.js";
import type { Design, DesignId } from "./design.js";
import type { Plan } from "./options.js";
import type { BacklogSeries, ComparisonRow, LatencySeries, MetricRow, ScenarioId } from "./results.js";
import { cdfPoints, summarize } from "./stats.js";

export class Collector {
  readonly metrics: MetricRow[] = [];
  readonly comparisons: ComparisonRow[] = [];
  readonly latencies: LatencySeries[] = [];
  readonly backlog: BacklogSeries[] = [];
  readonly notes: string[] = [];
  readonly targetInputs: Partial<Record<TargetId, number | null>> = {};

  /** Adds a value to the row (scenario, metric), creating the row on first use. */
  value(scenario: ScenarioId, metric: string, unit: string, better: MetricRow["better"], design: DesignId, value: number | null, note?: string): void {
    let row = this.metrics.find((candidate) => candidate.scenario === scenario && candidate.metric === metric);
    if (!row) {
      row = { scenario, metric, unit, better, values: {} };
      this.metrics.push(row);
    }
    row.values[design] = value;
    if (note) (row.notes ??= {})[design] = note;
  }

  /**
   * Records a latency distribution and its p50/p95/p99 as metric rows.
   * `unfinished` counts samples that never completed (say, not PROCESSED by
   * the end of the wait): they rank above every finished one, so a percentile
   * that falls among them has no value rather than a flattering one.
   */
  distribution(scenario: ScenarioId, measure: string, design: DesignId, values: readonly number[], note?: string, unfinished = 0): void {
    const all = [...values, ...Array.from({ length: unfinished }, () => Number.POSITIVE_INFINITY)];
    const summary = summarize(all);
    const notes = [note, unfinished > 0 ? `${unfinished} of ${all.length} did not finish within the wait; a percentile among them shows as –` : undefined]
      .filter(Boolean).join("; ") || undefined;
    for (const [key, label] of [["p50", "p50"], ["p95", "p95"], ["p99", "p99"]] as const) {
      const value = summary ? summary[key] : null;
      this.value(scenario, `${measure} ${label}`, "ms", "lower", design, value !== null && Number.isFinite(value) ? value : null, notes);
    }
    const finished = summarize(values);
    if (finished) this.latencies.push({ scenario, measure, design, summary: finished, cdf: cdfPoints(values) });
  }

  /** Parley's figure next to a baseline that is not one of the designs (graphile-worker alone, the model alone). */
  comparison(row: ComparisonRow): void {
    this.comparisons.push(row);
  }

  target(id: TargetId, value: number | null): void {
    this.targetInputs[id] = value;
  }

  note(text: string): void {
    this.notes.push(text);
  }
}

export interface BenchContext {
  plan: Plan;
  quick: boolean;
  seed: number;
  server: BenchServer;
  databases: BenchDatabases;
  designs: Map<DesignId, Design>;
  results: Collector;
  progress(message: string): void;
}

export function design<T extends Design = Design>(context: BenchContext, id: DesignId): T {
  const found = context.designs.get(id);
  if (!found) throw new Error(`design ${id} not set up`);
  return found as T;
}
