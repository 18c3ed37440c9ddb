/**
 * The connection pool of the event logs' hot path: appending batches and
 * reading them back for followers. These are a few fixed statements run
 * thousands of times a second at load, so they go straight to `pg` and skip
 * the ORM's per-query work (lib/db.ts's Prisma client serves everything else).
 * Kept on `globalThis` so development hot reloads do not open another pool.
 */
import "server-only";
import pg from "pg";
import { env } from "@/lib/env";

const globalForPool = globalThis as unknown as { eventLogPool?: pg.Pool };

export function eventLogPool(): pg.Pool {
  if (!globalForPool.eventLogPool) {
    const pool = new pg.Pool({
      connectionString: env.DATABASE_URL,
      max: 10,
      application_name: "dispatch-event-log-writer",
    });
    // NOTE: an idle client's error (the server restarting) must not crash the process.
    pool.on("error", () => {});
    globalForPool.eventLogPool = pool;
  }
  return globalForPool.eventLogPool;
}
