// Load shapes the scenarios drive a design with. Latencies are in ms.

export interface LoadResult {
  /** Caller-seen latency of each successful call. */
  latencies: number[];
  /** Arrivals never sent because the design was too far behind when the run's time was up. */
  shed: number;
  /** Indexes of the calls that succeeded (the conversations a caller was told are stored). */
  succeeded: number[];
  /** When each of those calls returned, in ms since the epoch (the clock PostgreSQL's now() reads). */
  acknowledgedAt: number[];
  errors: number;
  firstError?: string;
  seconds: number;
}

function recorder() {
  const result: LoadResult = { latencies: [], succeeded: [], acknowledgedAt: [], errors: 0, shed: 0, seconds: 0 };
  const record = async (index: number, call: () => Promise<void>, from: number) => {
    try {
      await call();
      const now = performance.now();
      result.latencies.push(now - from);
      result.succeeded.push(index);
      result.acknowledgedAt.push(performance.timeOrigin + now);
    } catch (error) {
      result.errors += 1;
      result.firstError ??= (error as Error).message;
    }
  };
  return { result, record };
}

/** One call at a time. */
export async function sequential(count: number, call: (index: number) => Promise<void>): Promise<LoadResult> {
  const { result, record } = recorder();
  const started = performance.now();
  for (let i = 0; i < count; i++) await record(i, () => call(i), performance.now());
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

/** `count` calls started at once. */
export async function burst(count: number, call: (index: number) => Promise<void>, offset = 0): Promise<LoadResult> {
  const { result, record } = recorder();
  const started = performance.now();
  await Promise.all(Array.from({ length: count }, (_, i) => record(offset + i, () => call(offset + i), started)));
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

/** `concurrency` callers, each starting its next call when the last returns, for `seconds` or `limit` calls. */
export async function closedLoop(concurrency: number, seconds: number, limit: number, call: (index: number) => Promise<void>): Promise<LoadResult> {
  const { result, record } = recorder();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline && next < limit) {
      const index = next++;
      await record(index, () => call(index), performance.now());
    }
  }));
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

export interface OpenLoopOptions {
  rate: number;
  seconds: number;
  /** Calls in flight at most; arrivals beyond it wait (and their wait counts as latency). */
  maxInFlight: number;
  /** Called at each scheduled arrival index, e.g. to inject a fault half-way. */
  onTick?: (index: number) => void;
  /**
   * Arrivals still waiting for a free slot this long after the last one was
   * due are shed (counted, not sent): a design that cannot take the rate
   * would otherwise stretch the run without end.
   */
  graceSeconds?: number;
}

/**
 * Arrivals at a fixed rate, whatever the design's speed. Latency counts from
 * each call's scheduled time, not from when it was finally sent, so a design
 * that falls behind shows it (no coordinated omission).
 */
export async function openLoop(options: OpenLoopOptions, call: (index: number) => Promise<void>): Promise<LoadResult> {
  const { result, record } = recorder();
  const total = Math.round(options.rate * options.seconds);
  const interval = 1000 / options.rate;
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  const cutoff = started + (options.seconds + (options.graceSeconds ?? 10)) * 1000;
  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    while (inFlight.size >= options.maxInFlight) await Promise.race(inFlight);
    if (performance.now() > cutoff) {
      result.shed = total - i;
      break;
    }
    options.onTick?.(i);
    const done: Promise<void> = record(i, () => call(i), due).finally(() => inFlight.delete(done));
    inFlight.add(done);
  }
  await Promise.all(inFlight);
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

/** Samples `sample()` every `everyMs` until stopped; each point is [seconds since start, value]. */
export function sampler(everyMs: number, sample: () => Promise<number>) {
  const points: Array<[number, number]> = [];
  const started = performance.now();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const at = (performance.now() - started) / 1000;
      try {
        points.push([at, await sample()]);
      } catch {
        // A sample lost to a fault is a gap in the chart, not a failed run.
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    points,
    async stop() {
      stopped = true;
      await loop;
      return points;
    },
  };
}
