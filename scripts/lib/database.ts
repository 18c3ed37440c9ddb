/**
 * Which PostgreSQL a command uses: the configured one, or the embedded server
 * (`scripts/lib/embedded-postgres.ts`) when none is configured. The app and
 * its scripts use `DATABASE_URL` and the cluster in `.data/postgres`; the test
 * suite uses `TEST_DATABASE_BASE_URL` (throwaway databases are made on it) and
 * its own cluster in `.data/postgres-test`, so stopping `npm run dev` never
 * pulls the database from under a test run.
 */
import path from "node:path";
import { databaseUrlOn, startEmbeddedPostgres } from "./embedded-postgres";

export type DatabasePurpose = "app" | "test";

export const EMBEDDED_DATA_DIRS: Record<DatabasePurpose, string> = {
  app: path.join(".data", "postgres"),
  test: path.join(".data", "postgres-test"),
};

export interface ProvidedDatabase {
  /** Set when the embedded server is used. */
  embeddedPort?: number;
  stop(): Promise<void>;
}

/** A URL fit for logs: the password is not printed. */
export function redactedUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}

/**
 * Makes sure `process.env` names a database for `purpose`, starting the
 * embedded server when nothing is configured. Call it after `.env` is loaded.
 */
export async function provideDatabase(
  purpose: DatabasePurpose,
  log: (line: string) => void = () => {},
): Promise<ProvidedDatabase> {
  const env = process.env;
  if (purpose === "app" && env.DATABASE_URL) return { stop: async () => {} };
  if (purpose === "test" && env.TEST_DATABASE_BASE_URL) {
    provideTestUrls(env.TEST_DATABASE_BASE_URL);
    return { stop: async () => {} };
  }
  const server = await startEmbeddedPostgres({ dataDir: EMBEDDED_DATA_DIRS[purpose], log });
  if (purpose === "app") env.DATABASE_URL = databaseUrlOn(server.adminUrl, "dispatch");
  else provideTestUrls(server.adminUrl);
  return { embeddedPort: server.port, stop: () => server.stop() };
}

function provideTestUrls(adminUrl: string) {
  process.env.TEST_DATABASE_BASE_URL = adminUrl;
  process.env.E2E_DATABASE_URL ??= databaseUrlOn(adminUrl, "dispatch_e2e");
  process.env.BENCH_DATABASE_BASE_URL ??= adminUrl;
}
