// Summary statistics of latency samples. Pure: numbers in, numbers out.

export interface Summary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/**
 * The p-th percentile (0..100) of values sorted ascending, interpolating
 * linearly between the two nearest ranks: the same definition as
 * PostgreSQL's percentile_cont, which parley.pipeline_stats uses, so the
 * bench and the view agree on the same data.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError("percentile of no values");
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const rank = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  const a = sorted[lower]!;
  const b = sorted[upper]!;
  // Exact ranks need no interpolation (and Infinity, an unfinished sample, stays Infinity).
  if (lower === upper || a === b) return a;
  return a + (b - a) * (rank - lower);
}

export function summarize(values: readonly number[]): Summary | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  let total = 0;
  for (const value of sorted) total += value;
  return {
    count: sorted.length,
    min: sorted[0]!,
    mean: total / sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1]!,
  };
}

/** Events per second, or null when no time passed. */
export function rate(count: number, seconds: number): number | null {
  return seconds > 0 ? count / seconds : null;
}

/**
 * Points of the empirical distribution function for a chart: up to `points`
 * (latency, fraction at or below it) pairs, always including the extremes.
 */
export function cdfPoints(values: readonly number[], points = 200): Array<[number, number]> {
  if (values.length === 0) return [];
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const step = Math.max(1, Math.floor(n / points));
  const out: Array<[number, number]> = [];
  for (let i = 0; i < n; i += step) out.push([sorted[i]!, (i + 1) / n]);
  if (out[out.length - 1]![1] !== 1) out.push([sorted[n - 1]!, 1]);
  return out;
}
