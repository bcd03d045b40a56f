// An embedder that misbehaves on purpose: it fails a share of its calls and
// stalls some past its own timeout, the way a remote embedding service does on
// a bad day. The timeout turns a stall into a retryable EmbeddingError, as the
// HTTP providers' PARLEY_EMBED_TIMEOUT_MS does; the stalled call is abandoned.
import { EmbeddingError, type Embedder } from "../../src/embed/embedder.js";

export interface ChaosOptions {
  /** Share of calls that fail at once with a retryable error, 0..1. */
  failRate: number;
  /** Share of the remaining calls that stall for `stallMs`, 0..1. */
  stallRate: number;
  stallMs: number;
  /** How long a call may take before it fails as timed out. */
  timeoutMs: number;
  /** Uniform in [0, 1); injectable so tests can script the faults. */
  random?: () => number;
  /** Decides each call's fate from its texts instead of `random` and the rates (tests script faults per conversation). */
  fate?: (texts: readonly string[]) => Fate;
}

export interface ChaosCounts {
  calls: number;
  failed: number;
  stalled: number;
  timedOut: number;
}

export type Fate = "fail" | "stall" | "pass";

/** What happens to one call, from one uniform draw: pure, so it is tested with plain numbers. */
export function fateOf(draw: number, options: Pick<ChaosOptions, "failRate" | "stallRate">): Fate {
  if (draw < options.failRate) return "fail";
  const rest = (draw - options.failRate) / (1 - options.failRate);
  return rest < options.stallRate ? "stall" : "pass";
}

export class ChaosEmbedder implements Embedder {
  readonly model: string;
  readonly dimension: number;
  readonly counts: ChaosCounts = { calls: 0, failed: 0, stalled: 0, timedOut: 0 };
  private readonly random: () => number;

  constructor(private readonly inner: Embedder, private readonly options: ChaosOptions) {
    for (const [name, rate] of [["failRate", options.failRate], ["stallRate", options.stallRate]] as const) {
      if (!(rate >= 0 && rate < 1)) throw new RangeError(`ChaosEmbedder: ${name} must be in [0, 1), got ${rate}`);
    }
    this.model = inner.model;
    this.dimension = inner.dimension;
    this.random = options.random ?? Math.random;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    this.counts.calls++;
    const fate = this.options.fate ? this.options.fate(texts) : fateOf(this.random(), this.options);
    if (fate === "fail") {
      this.counts.failed++;
      throw new EmbeddingError("chaos: injected embedder failure", { retryable: true });
    }
    const work = fate === "stall"
      ? (this.counts.stalled++, sleep(this.options.stallMs).then(() => this.inner.embed(texts)))
      : this.inner.embed(texts);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.counts.timedOut++;
        reject(new EmbeddingError(`chaos: embedder timed out after ${this.options.timeoutMs} ms`, { retryable: true }));
      }, this.options.timeoutMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
      // An abandoned call may still fail later; nobody is listening for it.
      work.catch(() => {});
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
