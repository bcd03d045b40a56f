// Picks the test database as README's "Development and tests" says:
// TEST_DATABASE_URL or DATABASE_URL; else a PostgreSQL container when a Docker
// engine answers; else an embedded PostgreSQL. Then migrates one template
// database that every test file clones (CREATE DATABASE ... TEMPLATE), so
// files run in parallel, each on its own database.
import type { TestProject } from "vitest/node";
import pg from "pg";
import { migrate } from "../../src/db/migrate.js";
import { startEmbeddedPostgres } from "../../src/db/embedded.js";
import { withDatabase } from "../../src/db/database-url.js";

declare module "vitest" {
  export interface ProvidedContext {
    adminUrl: string;
    templateDatabase: string;
  }
}

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

async function startServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const configured = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  if (configured) return { url: configured, stop: async () => {} };
  if (await dockerAnswers()) {
    const { PostgreSqlContainer } = await import("@testcontainers/postgresql");
    const container = await new PostgreSqlContainer("postgres:16-alpine").start();
    return { url: container.getConnectionUri(), stop: async () => void (await container.stop()) };
  }
  return startEmbeddedPostgres({ dataDir: `.data/test-postgres-${process.pid}`, port: 55432, persistent: false });
}

export default async function setup(project: TestProject) {
  const server = await startServer();
  const templateDatabase = `parley_template_${process.pid}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`drop database if exists ${templateDatabase}`);
  await admin.query(`create database ${templateDatabase}`);
  await admin.end();
  await migrate(withDatabase(server.url, templateDatabase));

  project.provide("adminUrl", server.url);
  project.provide("templateDatabase", templateDatabase);

  return async () => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    const { rows } = await client.query<{ datname: string }>(
      "select datname from pg_database where datname like $1 or datname = $2",
      [`parley_test_${process.pid}_%`, templateDatabase],
    );
    for (const { datname } of rows) {
      await client.query(`drop database if exists ${datname} with (force)`);
    }
    await client.end();
    await server.stop();
  };
}
