/**
 * The connection pool of the event logs' hot path: appending batches and
 * reading them back for followers. These are a few fixed statements run
 * thousands of times a second at load, so they go straight to `pg` and skip
 * the ORM's per-query work (lib/db.ts's Prisma client serves everything else).
 * Kept on `globalThis` so development hot reloads do not open another pool.
 *
 * NOTE: its sessions commit asynchronously (`synchronous_commit = off`): an
 * appended batch does not wait for its WAL flush, which at 50 streams turns
 * thousands of fsync waits a second into none. A database crash can lose the
 * last few hundred milliseconds of a stream's events (never reorder them);
 * writes that must survive one, such as an answer's final state, go through
 * `durably`.
 */
import "server-only";
import pg from "pg";
import { createPool } from "@/lib/db/pool";
import { env } from "@/lib/env";

const globalForPool = globalThis as unknown as { eventLogPool?: pg.Pool };

export function eventLogPool(): pg.Pool {
  if (!globalForPool.eventLogPool) {
    globalForPool.eventLogPool = createPool({
      connectionString: env.DATABASE_URL,
      max: 20,
      application_name: "dispatch-event-log",
      options: "-c synchronous_commit=off",
    });
  }
  return globalForPool.eventLogPool;
}

/** Runs one statement with a synchronous commit: it is on disk when this resolves. */
export async function durably<R extends pg.QueryResultRow>(
  query: pg.QueryConfig,
): Promise<pg.QueryResult<R>> {
  const client = await eventLogPool().connect();
  try {
    await client.query("BEGIN");
    await client.query("SET LOCAL synchronous_commit = on");
    const result = await client.query<R>(query);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
