/**
 * `npm run db:migrate`: creates the database if needed and applies the SQL
 * migrations in prisma/migrations (see lib/db/migrate.ts for why Dispatch
 * applies them itself). Against DATABASE_URL, or the embedded PostgreSQL.
 */
import { ensureDatabase, migrate } from "@/lib/db/migrate";
import { parseEnv } from "@/lib/env-schema";

const { DATABASE_URL } = parseEnv(process.env);
if (await ensureDatabase(DATABASE_URL)) console.log("db: created the database");
const applied = await migrate(DATABASE_URL, { log: (line) => console.log(`db: ${line}`) });
console.log(
  applied.length ? `db: ${applied.length} migration(s) applied` : "db: schema up to date",
);
