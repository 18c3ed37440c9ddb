/**
 * Vitest global setup: one throwaway Postgres database per run, migrated
 * from prisma/migrations, dropped at the end. It lives on
 * `TEST_DATABASE_BASE_URL`'s server, or on the embedded test cluster
 * (`.data/postgres-test`) when that is unset.
 */
import type { TestProject } from "vitest/node";
import { dropDatabase, ensureDatabase, migrate } from "@/lib/db/migrate";
import { provideDatabase } from "@/scripts/lib/database";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

export function testDatabaseUrl(suffix: string): string {
  const configured = process.env.TEST_DATABASE_BASE_URL;
  if (!configured) throw new Error("TEST_DATABASE_BASE_URL is not set (global setup sets it)");
  const base = new URL(configured);
  base.pathname = `/dispatch_test_${suffix}`;
  return base.toString();
}

export default async function setup(project: TestProject) {
  const server = await provideDatabase("test");
  const databaseUrl = testDatabaseUrl(`${process.pid}_${Date.now().toString(36)}`);
  await ensureDatabase(databaseUrl);
  await migrate(databaseUrl);
  project.provide("databaseUrl", databaseUrl);
  return async () => {
    if (!process.env.KEEP_TEST_DATABASE) await dropDatabase(databaseUrl);
    await server.stop();
  };
}
