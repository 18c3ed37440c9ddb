/**
 * The one Prisma client. It talks to Postgres through `@prisma/adapter-pg`
 * (no native query engine); cached on `globalThis` so hot reloads in
 * development do not open a new pool each time.
 */
import "server-only";
import { PrismaPg } from "@prisma/adapter-pg";
import { createPool } from "@/lib/db/pool";
import { PrismaClient } from "@/lib/generated/prisma/client";
import { env } from "@/lib/env";

/**
 * NOTE: Prisma's defaults give an interactive transaction 2 s to get a
 * connection and 5 s to finish. A busy process (the load run: 200 chat
 * streams, 50 jobs, 500 job pages on two cores) has every pooled connection
 * in use and its event loop behind for longer than that, and a job step or
 * `jobs.create` then failed with "Unable to start a transaction in the given
 * time" instead of waiting its turn. Queueing is the right answer to load;
 * these bounds only catch a connection that never comes back.
 */
const TRANSACTION_OPTIONS = { maxWait: 30_000, timeout: 60_000 };

export function createPrismaClient(databaseUrl = env.DATABASE_URL) {
  const pool = createPool({ connectionString: databaseUrl, max: 20 });
  const adapter = new PrismaPg(pool, { disposeExternalPool: true });
  return new PrismaClient({ adapter, transactionOptions: TRANSACTION_OPTIONS });
}

const globalForPrisma = globalThis as unknown as { prisma?: ReturnType<typeof createPrismaClient> };

export const db = globalForPrisma.prisma ?? createPrismaClient();

if (env.NODE_ENV !== "production") globalForPrisma.prisma = db;
