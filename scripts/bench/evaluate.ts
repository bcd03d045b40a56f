// The targets and the ratios between Parley and each baseline. Pure.

export type Better = "lower" | "higher";

export interface Target {
  id: TargetId;
  /** What is measured, as the issue states it. */
  description: string;
  unit: string;
  better: Better;
  /** Met when strictly below (lower) or at least (higher) this value. */
  threshold: number;
}

export type TargetId =
  | "write_p99_ms"
  | "worker_start_p50_ms"
  | "processed_p99_ms"
  | "saturation_hashing_per_s"
  | "bulk_share_of_raw"
  | "lost_conversations"
  | "search_p95_ms"
  | "noop_share"
  | "processed_p99_500_ms"
  | "remote_per_s"
  | "remote_requests_per_conversation"
  | "local_share_of_model"
  | "write_p50_over_floor"
  | "ingest_share_of_raw";

export const TARGETS: readonly Target[] = [
  { id: "write_p99_ms", description: "end_conversation, 20 messages, p99 seen by a Node caller", unit: "ms", better: "lower", threshold: 2 },
  { id: "worker_start_p50_ms", description: "commit to worker start, p50", unit: "ms", better: "lower", threshold: 5 },
  { id: "processed_p99_ms", description: "commit to PROCESSED at 200/s with hashing, p99", unit: "ms", better: "lower", threshold: 50 },
  { id: "saturation_hashing_per_s", description: "processing at saturation with hashing", unit: "conv/s", better: "higher", threshold: 1000 },
  { id: "bulk_share_of_raw", description: "end_conversations rows/s as a share of the raw floor's", unit: "%", better: "higher", threshold: 60 },
  { id: "lost_conversations", description: "conversations lost (acknowledged, never processed) in the fault runs", unit: "conv", better: "lower", threshold: 1 },
  { id: "search_p95_ms", description: "search_conversations (hybrid) p95, a user with 1,000 conversations among 20,000", unit: "ms", better: "lower", threshold: 50 },
  { id: "noop_share", description: "processing with hashing as a share of graphile-worker draining no-op jobs, same run", unit: "ratio", better: "higher", threshold: 0.35 },
  { id: "processed_p99_500_ms", description: "commit to PROCESSED at 500/s with hashing, p99", unit: "ms", better: "lower", threshold: 100 },
  { id: "remote_per_s", description: "remote embedder answering in 100 ms, 2 worker processes", unit: "conv/s", better: "higher", threshold: 400 },
  { id: "remote_requests_per_conversation", description: "embedding requests per conversation, remote embedder", unit: "req/conv", better: "lower", threshold: 0.1 },
  { id: "local_share_of_model", description: "local model: texts/s through the worker as a share of the model alone", unit: "%", better: "higher", threshold: 90 },
  { id: "write_p50_over_floor", description: "end_conversation p50 over the same rows by plain INSERTs plus graphile_worker.add_job", unit: "ratio", better: "lower", threshold: 1.3 },
  { id: "ingest_share_of_raw", description: "ingest over 8 connections as a share of the raw-insert floor", unit: "%", better: "higher", threshold: 50 },
];

export interface TargetResult {
  target: Target;
  measured: number | null;
  met: boolean | null;
  /** "met with 38% to spare", "missed by 2.4x", "not measured". */
  verdict: string;
}

export function evaluateTarget(target: Target, measured: number | null | undefined): TargetResult {
  if (measured === null || measured === undefined || Number.isNaN(measured)) {
    return { target, measured: null, met: null, verdict: "not measured in this run" };
  }
  if (!Number.isFinite(measured) && target.better === "lower") {
    return { target, measured, met: false, verdict: "missed: not reached within the run's wait" };
  }
  const met = target.better === "lower" ? measured < target.threshold : measured >= target.threshold;
  if (target.id === "lost_conversations") {
    return { target, measured, met, verdict: met ? "met: none lost" : `missed: ${measured} lost` };
  }
  return { target, measured, met, verdict: met ? `met, ${spare(target, measured)}` : `missed by ${shortfall(target, measured)}` };
}

export function evaluateTargets(measured: Partial<Record<TargetId, number | null>>): TargetResult[] {
  return TARGETS.map((target) => evaluateTarget(target, measured[target.id]));
}

function spare(target: Target, measured: number): string {
  if (target.better === "lower") {
    if (measured <= 0) return "far below the limit";
    return `${formatNumber(((target.threshold - measured) / target.threshold) * 100)}% under the limit`;
  }
  return `${formatNumber(((measured - target.threshold) / target.threshold) * 100)}% above the target`;
}

/** How far off a missed target is: a factor when it is 2x or more off, else a percentage. */
function shortfall(target: Target, measured: number): string {
  const factor = target.better === "lower" ? measured / target.threshold : target.threshold / Math.max(measured, Number.MIN_VALUE);
  if (factor >= 2) return `${formatNumber(factor)}x`;
  return `${formatNumber((factor - 1) * 100)}%`;
}

export interface Comparison {
  /** parley / baseline. */
  ratio: number;
  /** "12x lower", "2.1x higher", "about the same". */
  text: string;
  /** Whether Parley is on the better side of the baseline for this metric. */
  parleyBetter: boolean;
}

/** Parley's figure against a baseline's, for a metric where lower or higher is better. */
export function compare(parley: number | null | undefined, baseline: number | null | undefined, better: Better): Comparison | null {
  if (parley === null || parley === undefined || baseline === null || baseline === undefined) return null;
  if (!Number.isFinite(parley) || !Number.isFinite(baseline)) return null;
  if (parley === 0 && baseline === 0) return { ratio: 1, text: "same (both 0)", parleyBetter: false };
  if (baseline === 0) return { ratio: Number.POSITIVE_INFINITY, text: "baseline is 0", parleyBetter: better === "higher" };
  const ratio = parley / baseline;
  if (parley === 0) return { ratio, text: "Parley is 0", parleyBetter: better === "lower" };
  const parleyBetter = better === "lower" ? ratio < 1 : ratio > 1;
  if (ratio > 0.95 && ratio < 1.05) return { ratio, text: "about the same", parleyBetter: false };
  const factor = ratio >= 1 ? ratio : 1 / ratio;
  return { ratio, text: `${formatNumber(factor)}x ${ratio >= 1 ? "higher" : "lower"}`, parleyBetter };
}

/** Three significant figures, no exponent for the magnitudes a benchmark shows. */
export function formatNumber(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return "∞";
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return Math.round(value).toLocaleString("en-US");
  if (magnitude >= 10) return value.toFixed(1).replace(/\.0$/, "");
  if (magnitude >= 1) return value.toFixed(2).replace(/\.?0+$/, "");
  return String(Number(value.toPrecision(2)));
}
