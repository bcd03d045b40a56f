// Command line and run sizes. Pure, so the sizes of --quick and the full run
// are testable and stated in one place.

export interface BenchOptions {
  quick: boolean;
  /** Scenarios to run; all when empty. */
  only: string[];
  outDir: string;
  seed: number;
}

export const SCENARIO_NAMES = ["idle", "single", "concurrent", "sustained", "fault", "saturation", "inspection", "search", "worker"] as const;

export class UsageError extends Error {
  override name = "UsageError";
}

export const USAGE = `usage: npm run bench -- [--quick] [--only ${SCENARIO_NAMES.join(",")}] [--out DIR] [--seed N]
  --quick   CI smoke run, under a minute: smaller counts, shorter runs (say so in the results)
  --only    run only these scenarios (comma-separated)
  --out     where to write the JSON, SVG and latest.md (default bench/results)
  --seed    seed of the generated conversations (default 42)`;

export function parseArgs(argv: readonly string[]): BenchOptions {
  const options: BenchOptions = { quick: false, only: [], outDir: "bench/results", seed: 42 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const next = argv[++i];
      if (next === undefined || next.startsWith("--")) throw new UsageError(`${arg} needs a value`);
      return next;
    };
    if (arg === "--quick") options.quick = true;
    else if (arg === "--only") {
      options.only = value().split(",").map((name) => name.trim()).filter(Boolean);
      const unknown = options.only.find((name) => !(SCENARIO_NAMES as readonly string[]).includes(name));
      if (unknown) throw new UsageError(`--only: unknown scenario "${unknown}" (known: ${SCENARIO_NAMES.join(", ")})`);
    } else if (arg === "--out") options.outDir = value();
    else if (arg === "--seed") {
      const seed = Number(value());
      if (!Number.isInteger(seed)) throw new UsageError("--seed must be an integer");
      options.seed = seed;
    } else if (arg === "--help" || arg === "-h") throw new UsageError(USAGE);
    else throw new UsageError(`unknown argument "${arg}"\n${USAGE}`);
  }
  return options;
}

/** How big each scenario is. */
export interface Plan {
  idleSeconds: number;
  singleCount: number;
  /** Scenario 1's pace: one conversation every 1/singleRate s, slow enough that nothing queues. */
  singleRate: number;
  concurrentCount: number;
  concurrentRounds: number;
  sustainedRate: number;
  sustainedSeconds: number;
  /** Polling every 10 s needs several intervals to show its latency; --quick leaves it out of the timed scenarios. */
  pollingTenInTimedScenarios: boolean;
  sustainedDesigns: "all" | "core";
  /** How long to wait, after a timed load, for the design to process what it acknowledged. */
  drainWaitSeconds: number;
  faultRate: number;
  faultSeconds: number;
  /** Parley's PARLEY_WORKER_STALE_AFTER and the poller's equivalent in the fault run (default 30 s), so recovery fits in it. */
  faultStaleAfterSeconds: number;
  /** --quick kills Parley's worker and the memory queue only; the full run also the poller. */
  faultDesigns: "core" | "all";
  ingestSeconds: number;
  ingestConcurrency: number;
  drainHashing: number;
  /** The backlog is drained in this many rounds, the designs taking turns, so a change in the machine's load hits them alike. */
  drainRounds: number;
  drainLocal: number;
  localWorkers: number;
  bulkBatches: number;
  bulkBatchSize: number;
  inspectionEvents: number;
  inspectionRepeats: number;
  /** Scenario 6: end_conversation calls per schema, conversations stored, one user's share, rounds of the queries. */
  searchWriteCalls: number;
  searchConversations: number;
  searchUserConversations: number;
  searchRepeats: number;
  /** Scenario 3's second, higher rate (Parley alone). */
  sustainedHighRate: number;
  /** Scenario 7: backlogs drained by graphile-worker alone and by Parley (hashing, 1 then 2 processes), by the remote stub, and by the local model; interleaved write-path calls. */
  workerDrain: number;
  remoteDrain: number;
  localDrain: number;
  writeFloorCalls: number;
  /** Parley workers and jobs per worker for the timed scenarios and at saturation. */
  workers: number;
  concurrency: number;
  saturationWorkers: number;
  saturationConcurrency: number;
}

export function planFor(quick: boolean): Plan {
  const common = { workers: 1, concurrency: 8, saturationWorkers: 2, saturationConcurrency: 8, bulkBatchSize: 100, ingestConcurrency: 8 };
  return quick
    ? {
        ...common,
        idleSeconds: 2,
        singleCount: 10,
        singleRate: 20,
        concurrentCount: 20,
        concurrentRounds: 1,
        sustainedRate: 200,
        sustainedSeconds: 1,
        pollingTenInTimedScenarios: false,
        sustainedDesigns: "core",
        drainWaitSeconds: 15,
        faultRate: 100,
        faultSeconds: 1,
        faultStaleAfterSeconds: 3,
        faultDesigns: "core",
        ingestSeconds: 0.5,
        drainHashing: 60,
        drainRounds: 1,
        drainLocal: 2,
        localWorkers: 1,
        bulkBatches: 3,
        inspectionEvents: 10_000,
        inspectionRepeats: 5,
        searchWriteCalls: 50,
        searchConversations: 2_000,
        searchUserConversations: 100,
        searchRepeats: 1,
        sustainedHighRate: 500,
        workerDrain: 400,
        remoteDrain: 200,
        localDrain: 2,
        writeFloorCalls: 100,
      }
    : {
        ...common,
        idleSeconds: 30,
        singleCount: 400,
        singleRate: 20,
        concurrentCount: 100,
        concurrentRounds: 3,
        sustainedRate: 200,
        sustainedSeconds: 30,
        pollingTenInTimedScenarios: true,
        sustainedDesigns: "all",
        drainWaitSeconds: 30,
        faultRate: 100,
        faultSeconds: 15,
        faultStaleAfterSeconds: 5,
        faultDesigns: "all",
        ingestSeconds: 8,
        drainHashing: 1500,
        drainRounds: 3,
        drainLocal: 30,
        localWorkers: 2,
        bulkBatches: 40,
        inspectionEvents: 1_000_000,
        inspectionRepeats: 50,
        searchWriteCalls: 2_000,
        searchConversations: 20_000,
        searchUserConversations: 1_000,
        searchRepeats: 10,
        sustainedHighRate: 500,
        workerDrain: 6_000,
        remoteDrain: 4_000,
        localDrain: 40,
        writeFloorCalls: 2_000,
      };
}
