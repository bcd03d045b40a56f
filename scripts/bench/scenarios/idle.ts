// What each design costs the database while nothing happens, from
// pg_stat_database (transactions committed or rolled back in its own
// database), and the resident memory of its background processes. All designs
// idle at once: each has its own database, so the counters do not mix.
import { transactionCount } from "../database.js";
import { residentMemory } from "../children.js";
import type { BenchContext } from "../context.js";

export async function runIdle(context: BenchContext): Promise<void> {
  const { plan, results, server, databases } = context;
  context.progress(`idle: measuring each design's queries/s with nothing to do (${plan.idleSeconds} s)`);
  // Let start-up work (graphile-worker's checks, cron bookkeeping, the memory
  // queue's recovery scan) pass and reach the counters: an idle backend
  // publishes its counts up to 10 s late.
  await new Promise((resolve) => setTimeout(resolve, context.quick ? 1000 : 12_000));
  const designs = [...context.designs.values()];
  const before = await Promise.all(designs.map((design) => transactionCount(server.adminUrl, databases.databaseName(design.url))));
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, plan.idleSeconds * 1000));
  const after = await Promise.all(designs.map((design) => transactionCount(server.adminUrl, databases.databaseName(design.url))));
  const seconds = (performance.now() - started) / 1000;
  designs.forEach((design, i) => {
    results.value("idle", "queries/s while idle (transactions)", "/s", "lower", design.id, (after[i]! - before[i]!) / seconds);
  });
  for (const design of designs) {
    const pids = design.backgroundPids();
    if (pids.length === 0) {
      results.value("idle", "background process memory (RSS)", "MiB", "lower", design.id, null,
        design.processes ? "processing runs inside the caller" : "nothing runs in the background");
      continue;
    }
    const memory = await Promise.all(pids.map((pid) => residentMemory(pid)));
    const rss = memory.reduce((sum, entry) => sum + (entry?.rssMiB ?? 0), 0) / pids.length;
    results.value("idle", "background process memory (RSS)", "MiB", "lower", design.id, rss,
      pids.length > 1 ? `per process, ${pids.length} processes` : undefined);
  }
  if (plan.idleSeconds < 20) {
    results.note(`Idle queries/s were measured over ${plan.idleSeconds} s only (--quick); PostgreSQL publishes a backend's counters up to 10 s late, so treat them as rough.`);
  }
}
