/**
 * Vitest global setup: one throwaway Postgres database per run, migrated
 * from prisma/migrations, dropped at the end.
 */
import type { TestProject } from "vitest/node";
import { dropDatabase, ensureDatabase, migrate } from "@/lib/db/migrate";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

export function testDatabaseUrl(suffix: string): string {
  const base = new URL(
    process.env.TEST_DATABASE_BASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres",
  );
  base.pathname = `/dispatch_test_${suffix}`;
  return base.toString();
}

export default async function setup(project: TestProject) {
  const databaseUrl = testDatabaseUrl(`${process.pid}_${Date.now().toString(36)}`);
  await ensureDatabase(databaseUrl);
  await migrate(databaseUrl);
  project.provide("databaseUrl", databaseUrl);
  return async () => {
    if (!process.env.KEEP_TEST_DATABASE) await dropDatabase(databaseUrl);
  };
}
