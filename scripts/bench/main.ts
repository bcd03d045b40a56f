// `npm run bench [-- --quick]`: Parley against the designs it replaces, in one
// run, on the same data. Progress on stderr, the results table on stdout, and
// JSON + an SVG chart + latest.md (for README) under bench/results/.
import os from "node:os";
import path from "node:path";
import { mkdir, writeFile } from "node:fs/promises";
import { loadConfig } from "../../src/config.js";
import { Collector, type BenchContext } from "./context.js";
import { BenchDatabases, openServer } from "./database.js";
import { DESIGN_IDS, type Design, type DesignId } from "./design.js";
import { createDesign } from "./designs/index.js";
import { evaluateTargets } from "./evaluate.js";
import { FLUSH_MS } from "./baselines/memory-queue.js";
import { parseArgs, planFor, UsageError, type BenchOptions } from "./options.js";
import { renderMarkdown, renderText } from "./report.js";
import { SCENARIO_TITLES, type BenchResults } from "./results.js";
import { renderChart } from "./svg.js";
import { runIdle } from "./scenarios/idle.js";
import { runSingle } from "./scenarios/single.js";
import { runConcurrent } from "./scenarios/concurrent.js";
import { runSustained } from "./scenarios/sustained.js";
import { runFault } from "./scenarios/fault.js";
import { runSaturation } from "./scenarios/saturation.js";
import { runInspection } from "./scenarios/inspection.js";
import { runWorker } from "./scenarios/worker.js";
import { runSearch } from "./scenarios/search.js";

const SCENARIOS: Array<[string, (context: BenchContext) => Promise<void>]> = [
  ["idle", runIdle],
  ["single", runSingle],
  ["concurrent", runConcurrent],
  ["sustained", runSustained],
  ["fault", runFault],
  ["saturation", runSaturation],
  ["inspection", runInspection],
  ["search", runSearch],
  ["worker", runWorker],
];

let options: BenchOptions;
try {
  options = parseArgs(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`parley bench: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}

const config = loadConfig();
const plan = planFor(options.quick);
const startedAt = new Date();
const clock = performance.now();
const progress = (message: string) => {
  process.stderr.write(`[bench ${((performance.now() - clock) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
};

const loadAverageAtStart = os.loadavg();
progress(`${options.quick ? "quick" : "full"} run against ${config.databaseUrl ? "DATABASE_URL" : "an embedded PostgreSQL"}; load average ${loadAverageAtStart.map((x) => x.toFixed(2)).join(" ")}`);
const server = await openServer(config.databaseUrl);
const databases = new BenchDatabases(server);
const designs = new Map<DesignId, Design>();

let cleaning: Promise<void> | undefined;
const cleanUp = () => (cleaning ??= (async () => {
  await Promise.all([...designs.values()].map((design) => design.close({ abandon: true }).catch(() => {})));
  await databases.dropAll().catch((error: unknown) => progress(`could not drop the bench databases: ${String(error)}`));
  await server.stop().catch(() => {});
})());
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping, dropping the bench databases`);
    void cleanUp().then(() => process.exit(130));
  });
}

const results = new Collector();
let failure: unknown;
try {
  progress(`creating databases ${databases.prefix}_* (template, then one per design)`);
  await databases.prepareTemplate();
  // Each design's background processing (hashing embedder) starts while the next database is cloned.
  const starting: Array<Promise<unknown>> = [];
  for (const id of DESIGN_IDS) {
    const design = createDesign(id, await databases.clone(id));
    designs.set(id, design);
    starting.push(design.startProcessing({ embedder: "hashing", workers: plan.workers, concurrency: plan.concurrency })
      .then(() => undefined, (error: unknown) => error));
  }
  progress("waiting for each design's background processes to start");
  const failedStart = (await Promise.all(starting)).find((outcome) => outcome !== undefined);
  if (failedStart) throw failedStart;

  const context: BenchContext = { plan, quick: options.quick, seed: options.seed, server, databases, designs, results, progress };
  for (const [name, run] of SCENARIOS) {
    if (options.only.length > 0 && !options.only.includes(name)) continue;
    await run(context);
  }
} catch (error) {
  failure = error;
  progress(`failed: ${(error as Error).stack ?? String(error)}`);
} finally {
  progress("cleaning up: stopping processes, dropping the bench databases");
  await cleanUp();
}

const finishedAt = new Date();
if (options.quick) results.note("--quick: a smoke run with small counts; use the full run's figures.");
results.note("Measured on a machine shared with other work; latencies, p99 above all, move with the load of the moment.");
const output: BenchResults = {
  mode: options.quick ? "quick" : "full",
  startedAt: startedAt.toISOString(),
  finishedAt: finishedAt.toISOString(),
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
    memoryGiB: os.totalmem() / 2 ** 30,
    loadAverageAtStart,
    node: process.versions.node,
    postgres: server.version,
    server: server.kind,
  },
  settings: {
    "conversations/s (scenario 1)": plan.singleRate,
    "conversations/s (scenario 3)": plan.sustainedRate,
    "seconds (scenario 3)": plan.sustainedSeconds,
    "Parley workers x jobs": `${plan.workers} x ${plan.concurrency}`,
    "at saturation": `${plan.saturationWorkers} x ${plan.saturationConcurrency}`,
    "memory queue flush": `${FLUSH_MS} ms`,
    "events (scenario 5)": plan.inspectionEvents.toLocaleString("en-US"),
    "conversations, one user's (scenario 6)": `${plan.searchConversations.toLocaleString("en-US")}, ${plan.searchUserConversations.toLocaleString("en-US")}`,
  },
  metrics: results.metrics,
  comparisons: results.comparisons,
  latencies: results.latencies,
  backlog: results.backlog,
  targets: evaluateTargets(results.targetInputs),
  targetInputs: results.targetInputs,
  notes: results.notes,
};

await mkdir(options.outDir, { recursive: true });
const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
const jsonFile = path.join(options.outDir, `bench-${output.mode}-${stamp}.json`);
const svgFile = path.join(options.outDir, `bench-${output.mode}-${stamp}.svg`);
// JSON has no Infinity (a percentile among unfinished samples): write it as a string.
await writeFile(jsonFile, JSON.stringify(output, (_, value: unknown) => (value === Number.POSITIVE_INFINITY ? "Infinity" : value), 2));
await writeFile(svgFile, renderChart({ title: `Parley benchmark, ${output.mode} run, ${output.startedAt.slice(0, 16)}`, latencies: output.latencies, backlog: output.backlog, scenarioTitles: SCENARIO_TITLES }));
// A failed run keeps its partial JSON and chart but leaves latest.md (README's table) alone.
if (!failure) {
  await writeFile(path.join(options.outDir, "latest.md"), renderMarkdown(output, { json: path.basename(jsonFile), svg: path.basename(svgFile) }));
}
process.stdout.write(renderText(output));
progress(`wrote ${jsonFile}, ${svgFile}${failure ? "" : ` and ${path.join(options.outDir, "latest.md")}`} in ${((performance.now() - clock) / 1000).toFixed(0)} s`);
// Library pools and timers may linger; the run is over either way.
process.exit(failure ? 1 : 0);
