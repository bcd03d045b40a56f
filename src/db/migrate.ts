// `npm run migrate`: graphile-worker's schema, then Parley's numbered
// migrations (Kysely's Migrator: its own lock and bookkeeping), then the SQL
// API in sql/, re-applied with `create or replace` in one transaction.
// A session advisory lock around all three makes concurrent runs from several
// processes wait for each other instead of racing on the same DDL.
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { createPool } from "./pool.js";
import { Logger as GraphileLogger, runMigrations as runGraphileMigrations } from "graphile-worker";
import { Kysely, Migrator, PostgresDialect, sql, type Migration, type MigrationProvider } from "kysely";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const MIGRATIONS_DIR = path.join(ROOT, "migrations");
export const SQL_API_DIR = path.join(ROOT, "sql");

// Arbitrary, fixed: "parley" in ASCII.
const MIGRATE_LOCK_KEY = 0x7061726c6579;

/** Each migrations/NNNN_name.sql file is one Kysely migration, named by its file. */
export class SqlFileMigrationProvider implements MigrationProvider {
  constructor(private readonly dir: string) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(this.dir)).filter((name) => name.endsWith(".sql")).sort();
    const migrations: Record<string, Migration> = {};
    for (const file of files) {
      const text = await readFile(path.join(this.dir, file), "utf8");
      migrations[file.replace(/\.sql$/, "")] = {
        up: async (db) => {
          await sql.raw(text).execute(db);
        },
      };
    }
    return migrations;
  }
}

export async function sqlApiFiles(): Promise<Array<{ file: string; text: string }>> {
  const files = (await readdir(SQL_API_DIR)).filter((name) => name.endsWith(".sql")).sort();
  return Promise.all(files.map(async (file) => ({ file, text: await readFile(path.join(SQL_API_DIR, file), "utf8") })));
}

export interface MigrateResult {
  applied: string[];
}

export async function migrate(connectionString: string): Promise<MigrateResult> {
  const pool = createPool(connectionString, 2, "parley-migrate");
  const lockClient = await pool.connect();
  try {
    await lockClient.query("select pg_advisory_lock($1)", [MIGRATE_LOCK_KEY]);

    await runGraphileMigrations({ pgPool: pool, logger: silentGraphileLogger });

    const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
    const migrator = new Migrator({
      db,
      provider: new SqlFileMigrationProvider(MIGRATIONS_DIR),
      migrationTableSchema: "public",
      migrationTableName: "parley_migrations",
      migrationLockTableName: "parley_migrations_lock",
    });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((result) => result.status === "Error");
      throw new Error(`migration ${failed?.migrationName ?? "?"} failed: ${(error as Error).message}`, { cause: error });
    }

    const files = await sqlApiFiles();
    await lockClient.query("begin");
    try {
      for (const { file, text } of files) {
        try {
          await lockClient.query(text);
        } catch (cause) {
          throw new Error(`sql/${file} failed: ${(cause as Error).message}`, { cause });
        }
      }
      await lockClient.query("commit");
    } catch (failure) {
      await lockClient.query("rollback");
      throw failure;
    }
    return { applied: (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName) };
  } finally {
    await lockClient.query("select pg_advisory_unlock($1)", [MIGRATE_LOCK_KEY]).catch(() => {});
    lockClient.release();
    await pool.end();
  }
}

const silentGraphileLogger = new GraphileLogger(() => () => {});
