/**
 * `npm run db:seed`: idempotent demo data. Imports the demo research corpus
 * (scripts/lib/demo-corpus.ts: the Next.js and AI SDK docs from node_modules,
 * PostgreSQL's manual where installed); unchanged files are skipped, so
 * running it again is cheap.
 */
import nextEnv from "@next/env";
import { ensureDatabase, migrate } from "@/lib/db/migrate";
import { parseEnv } from "@/lib/env-schema";
import { importDemoCorpus } from "@/scripts/lib/demo-corpus";

nextEnv.loadEnvConfig(process.cwd(), true, { info: () => {}, error: console.error });
const { DATABASE_URL } = parseEnv(process.env);
await ensureDatabase(DATABASE_URL);
await migrate(DATABASE_URL, { log: (line) => console.log(`db: ${line}`) });
for (const { source, summary } of await importDemoCorpus(DATABASE_URL, (line) =>
  console.log(line),
)) {
  console.log(
    `seed: ${source.label}: ${summary.files} files (${summary.created} new, ${summary.updated} updated, ${summary.unchanged} unchanged, ${summary.failed} skipped)`,
  );
}
