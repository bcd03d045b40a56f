// The bench's PostgreSQL: DATABASE_URL's server (databases of its own, named
// parley_bench_<pid>_*, dropped at the end) or an embedded one when unset.
// Each design gets its own database, cloned from one migrated template, so
// that per-database counters (pg_stat_database) belong to one design and no
// design's background process (a reconciler, a poller) touches another's rows.
import { createServer } from "node:net";
import pg from "pg";
import { migrate } from "../../src/db/migrate.js";
import { startEmbeddedPostgres } from "../../src/db/embedded.js";
import { withDatabase } from "../../src/db/database-url.js";

export interface BenchServer {
  /** A URL to the server's maintenance database, for CREATE/DROP DATABASE. */
  adminUrl: string;
  kind: "DATABASE_URL" | "embedded";
  version: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export async function openServer(databaseUrl: string | undefined): Promise<BenchServer> {
  let adminUrl: string;
  let kind: BenchServer["kind"];
  let stop = async () => {};
  if (databaseUrl) {
    adminUrl = databaseUrl;
    kind = "DATABASE_URL";
  } else {
    const embedded = await startEmbeddedPostgres({
      dataDir: `.data/bench-postgres-${process.pid}`,
      port: await freePort(),
      persistent: false,
    });
    adminUrl = embedded.url;
    kind = "embedded";
    stop = () => embedded.stop();
  }
  const version = await withClient(adminUrl, async (client) =>
    (await client.query<{ server_version: string }>("show server_version")).rows[0]!.server_version);
  return { adminUrl, kind, version, stop };
}

export async function withClient<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: "parley-bench" });
  client.on("error", () => {});
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** The databases of one bench run; all share the prefix parley_bench_<pid>. */
export class BenchDatabases {
  readonly prefix: string;
  private readonly created: string[] = [];
  private template: string | undefined;

  constructor(private readonly server: BenchServer, runId: string | number = process.pid) {
    this.prefix = `parley_bench_${runId}`;
  }

  /** Creates and migrates the template every design database is cloned from. */
  async prepareTemplate(): Promise<void> {
    const name = `${this.prefix}_template`;
    await this.create(name);
    await migrate(withDatabase(this.server.adminUrl, name));
    this.template = name;
  }

  /** A fresh, migrated database for one design; returns its URL. */
  async clone(suffix: string): Promise<string> {
    if (!this.template) throw new Error("prepareTemplate() first");
    const name = `${this.prefix}_${suffix.replace(/[^a-z0-9_]/g, "_")}`;
    await this.create(name, this.template);
    return withDatabase(this.server.adminUrl, name);
  }

  databaseName(url: string): string {
    return new URL(url).pathname.slice(1);
  }

  private async create(name: string, template?: string): Promise<void> {
    await withClient(this.server.adminUrl, async (client) => {
      await client.query(`drop database if exists ${name} with (force)`);
      // Cloning needs the template to have no other session; a migrate that
      // just ended may still be closing its connections.
      for (let attempt = 0; ; attempt++) {
        try {
          await client.query(template ? `create database ${name} template ${template}` : `create database ${name}`);
          break;
        } catch (error) {
          if (attempt >= 30 || !/being accessed by other users/.test((error as Error).message)) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    });
    this.created.push(name);
  }

  async drop(url: string): Promise<void> {
    const name = this.databaseName(url);
    await withClient(this.server.adminUrl, (client) => client.query(`drop database if exists ${name} with (force)`));
    this.created.splice(this.created.indexOf(name), 1);
  }

  /** Drops every database this run created (also those of a crashed earlier step). */
  async dropAll(): Promise<void> {
    await withClient(this.server.adminUrl, async (client) => {
      for (const name of [...this.created].reverse()) {
        await client.query(`drop database if exists ${name} with (force)`).catch(() => {});
      }
    });
    this.created.length = 0;
  }
}

/** Transactions committed and rolled back in one database so far (pg_stat_database). */
export async function transactionCount(adminUrl: string, database: string): Promise<number> {
  return withClient(adminUrl, async (client) => {
    const { rows } = await client.query<{ total: string }>(
      "select (xact_commit + xact_rollback)::text as total from pg_stat_database where datname = $1",
      [database],
    );
    return Number(rows[0]?.total ?? 0);
  });
}

/**
 * A client pool for one design. Idle connections close after a second, so a
 * design that is not being measured holds none (the server's max_connections
 * is shared with the other designs' workers, and perhaps with other people).
 */
export function benchPool(url: string, max: number, applicationName: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, application_name: applicationName, idleTimeoutMillis: 1000 });
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  return pool;
}
