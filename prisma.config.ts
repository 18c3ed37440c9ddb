import path from "node:path";
import { defineConfig } from "prisma/config";

// NOTE: Prisma CLI commands that need the schema engine (migrate, db) cannot
// run where its binary cannot be downloaded; `npm run db:migrate` applies the
// same SQL files instead. `prisma migrate deploy` works wherever the engine is.
export default defineConfig({
  schema: path.join("prisma", "schema.prisma"),
  migrations: { path: path.join("prisma", "migrations"), seed: "tsx prisma/seed.ts" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/dispatch" },
});
