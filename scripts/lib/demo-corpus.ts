/**
 * The demo research corpus: Debian's PostgreSQL manual (postgresql-doc-15,
 * PostgreSQL License), imported as shared documents so research jobs have
 * something to search offline. Used by `npm run db:seed` and, when the shared
 * corpus is still empty, in the background by `npm run dev`.
 */
import { existsSync } from "node:fs";
import pg from "pg";
import { importCorpus, type ImportSummary } from "../corpus-import";

export const POSTGRES_MANUAL_DIR = "/usr/share/doc/postgresql-doc-15/html";
export const POSTGRES_MANUAL_URL = "https://www.postgresql.org/docs/15/";

export async function sharedCorpusSize(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ count: string }>(
      "SELECT count(*) FROM documents WHERE owner_id IS NULL",
    );
    return Number(rows[0]?.count ?? 0);
  } finally {
    await client.end();
  }
}

/** Imports the manual when it is installed; null when it is not. */
export async function importDemoCorpus(
  databaseUrl: string,
  log: (line: string) => void,
): Promise<ImportSummary | null> {
  if (!existsSync(POSTGRES_MANUAL_DIR)) {
    log(
      `no demo corpus at ${POSTGRES_MANUAL_DIR} (Debian/Ubuntu: apt-get install postgresql-doc-15); research searches your own documents`,
    );
    return null;
  }
  return importCorpus(POSTGRES_MANUAL_DIR, { databaseUrl, baseUrl: POSTGRES_MANUAL_URL, log });
}
