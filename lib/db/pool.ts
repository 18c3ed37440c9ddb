/**
 * The app's PostgreSQL pools (Prisma's and the event log's), built so that a
 * connection the server ends at the wrong moment cannot crash the process.
 *
 * NOTE: pg-pool takes its own error listener off a connection as it hands it
 * out, in the same tick that parsed the connection's latest bytes. When a
 * FATAL arrives in the same chunk as the ReadyForQuery before it (PostgreSQL
 * shutting down just as it accepted the connection, or `pg_terminate_backend`
 * just as a query ended), the error is emitted before the caller's `await`
 * resumes and can listen (Prisma's transactions, `durably`), and an 'error'
 * event with no listener kills the process. So every connection listens from
 * the moment it connects. Nothing else is needed: a lost connection is not
 * queryable, its next query fails with an error `lib/db/errors.ts` reads as
 * "database unavailable", and pg-pool drops it when it is released.
 */
import pg from "pg";

export function createPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  // An idle connection's error: pg-pool drops the connection itself.
  pool.on("error", () => {});
  pool.on("connect", (client) => {
    client.on("error", () => {});
  });
  return pool;
}
