import type { Config } from "../config.js";

export function requireDatabaseUrl(config: Config): string {
  if (!config.databaseUrl) {
    process.stderr.write("parley: invalid configuration: DATABASE_URL: is required (e.g. postgres://postgres@127.0.0.1:5432/postgres); `npm start` alone starts an embedded PostgreSQL\n");
    process.exit(2);
  }
  return config.databaseUrl;
}

/** The same server and credentials as `url`, another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
