// `npm run stats [-- --watch]`: pipeline health from plain SQL. Uses DATABASE_URL, or the
// embedded PostgreSQL that `npm start` runs when there is none.
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.js";
import { createPool } from "../src/db/pool.js";
import { embeddedDatabaseUrl } from "../src/db/embedded.js";
import { describeDatabase, readStats, renderStats } from "./lib/stats.js";

const { values } = parseArgs({
  options: { watch: { type: "boolean", short: "w", default: false }, interval: { type: "string", default: "2" } },
});
const intervalMs = Math.max(0.5, Number(values.interval) || 2) * 1000;

const config = loadConfig();
const url = config.databaseUrl ?? embeddedDatabaseUrl(config.embeddedPort);
const pool = createPool(url, 1, "parley-stats");
const database = describeDatabase(url) + (config.databaseUrl ? "" : " (embedded: no DATABASE_URL)");

async function once(): Promise<string> {
  try {
    return renderStats(await readStats(pool, database), { staleAfterSeconds: config.workerStaleAfterSeconds });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const hint = code === "ECONNREFUSED"
      ? (config.databaseUrl ? "is PostgreSQL running?" : "no DATABASE_URL and no embedded PostgreSQL answering: run `npm start` first, or set DATABASE_URL")
      : code === "42P01" || code === "3F000" ? "the schema is missing: run `npm run migrate`" : "";
    return `parley stats: cannot read ${database}: ${(error as Error).message}${hint ? ` (${hint})` : ""}`;
  }
}

if (!values.watch) {
  const text = await once();
  process.stdout.write(`${text}\n`);
  await pool.end();
  process.exit(text.startsWith("parley stats: cannot read") ? 1 : 0);
}

// --watch: redraw in place on a terminal; elsewhere (a log file) append with a separator.
const tty = process.stdout.isTTY;
let timer: NodeJS.Timeout | undefined;
const draw = async () => {
  const text = await once();
  process.stdout.write(tty ? `\x1b[H\x1b[2J${text}\n\n(refreshing every ${intervalMs / 1000} s; Ctrl-C to stop)\n` : `${text}\n${"-".repeat(60)}\n`);
  timer = setTimeout(() => void draw(), intervalMs);
};
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    clearTimeout(timer);
    void pool.end().finally(() => process.exit(0));
  });
}
await draw();
