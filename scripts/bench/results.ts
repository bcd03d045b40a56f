// The shape of a bench run's results (the JSON file), shared by the
// scenarios that fill it and the renderers that print it.
import type { DesignId } from "./design.js";
import type { Better, TargetId, TargetResult } from "./evaluate.js";
import type { Summary } from "./stats.js";

export type ScenarioId = "single" | "concurrent" | "sustained" | "fault" | "saturation" | "inspection" | "search" | "worker" | "idle";

export const SCENARIO_TITLES: Record<ScenarioId, string> = {
  single: "1. One conversation stored (20 messages), one caller at a steady pace",
  concurrent: "2. 100 concurrent conversations",
  sustained: "3. Sustained rate",
  fault: "Fault: SIGKILL mid-run",
  saturation: "4. Saturation",
  inspection: "5. Inspection queries on a large database",
  search: "6. A user's memory: search, and what its index costs the write path",
  worker: "7. The worker's throughput, each figure next to its baseline",
  idle: "Idle cost and memory",
};

/** A figure of Parley's next to a baseline measured in the same run that is not one of the designs. */
export interface ComparisonRow {
  scenario: ScenarioId;
  metric: string;
  unit: string;
  better: Better;
  parley: number | null;
  /** What the baseline is ("graphile-worker alone, no-op jobs"). */
  baseline: string;
  baselineValue: number | null;
  note?: string;
}

/** One measured quantity, per design. */
export interface MetricRow {
  scenario: ScenarioId;
  metric: string;
  unit: string;
  better: Better;
  values: Partial<Record<DesignId, number | null>>;
  /** Why a design has no value, or a caveat on its value. */
  notes?: Partial<Record<DesignId, string>>;
}

/** A latency distribution, kept for the chart. */
export interface LatencySeries {
  scenario: ScenarioId;
  /** What the latency is of ("caller write", "commit to PROCESSED"). */
  measure: string;
  design: DesignId;
  summary: Summary;
  /** (ms, fraction at or below) points of the distribution. */
  cdf: Array<[number, number]>;
}

export interface BacklogSeries {
  design: DesignId;
  /** [seconds since the start of the load, conversations acknowledged but not yet PROCESSED]. */
  points: Array<[number, number]>;
}

export interface BenchResults {
  mode: "quick" | "full";
  startedAt: string;
  finishedAt: string;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    loadAverageAtStart: number[];
    node: string;
    postgres: string;
    server: "DATABASE_URL" | "embedded";
  };
  settings: Record<string, number | string>;
  metrics: MetricRow[];
  comparisons: ComparisonRow[];
  latencies: LatencySeries[];
  backlog: BacklogSeries[];
  targets: TargetResult[];
  /** Values behind the targets, by id. */
  targetInputs: Partial<Record<TargetId, number | null>>;
  notes: string[];
}
