/**
 * A connection PostgreSQL ends as it hands it out (a restart beginning, or
 * `pg_terminate_backend` just as a query ended): the FATAL comes in the same
 * chunk as the ReadyForQuery that completes `connect()`. Before `createPool`,
 * that error had no listener yet and crashed the process (Vitest reports it
 * as an unhandled error); now the caller sees an ordinary "database
 * unavailable" error on its next query and a retry succeeds.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createPrismaClient } from "@/lib/db";
import { isDatabaseUnavailable, retryIfDatabaseUnavailable } from "@/lib/db/errors";
import { createPool } from "@/lib/db/pool";
import { hostOf, startTcpProxy, type TcpProxy } from "@/test/tcp-proxy";

let proxy: TcpProxy;
let url: string;

beforeAll(async () => {
  const databaseUrl = process.env.DATABASE_URL!;
  proxy = await startTcpProxy(hostOf(databaseUrl));
  url = proxy.urlFor(databaseUrl);
});

afterAll(() => proxy?.close());

it("a pooled connection ended as it is handed out fails its query, and the pool drops it", async () => {
  const pool = createPool({ connectionString: url, max: 2 });
  try {
    proxy.terminateAfterStartup(1);
    const client = await pool.connect();
    const failed = await client.query("SELECT 1").catch((error: unknown) => error);
    expect(isDatabaseUnavailable(failed)).toBe(true);
    client.release();
    expect(pool.totalCount).toBe(0);
    const { rows } = await pool.query<{ one: number }>("SELECT 1 AS one");
    expect(rows).toEqual([{ one: 1 }]);
  } finally {
    await pool.end();
  }
});

it("a Prisma transaction on such a connection fails as unavailable and succeeds when retried", async () => {
  const prisma = createPrismaClient(url);
  try {
    proxy.terminateAfterStartup(1);
    let attempts = 0;
    const result = await retryIfDatabaseUnavailable(
      () => {
        attempts++;
        return prisma.$transaction((tx) => tx.$queryRaw<{ one: number }[]>`SELECT 1 AS one`);
      },
      { retries: 2, delayMs: 50 },
    );
    expect(result).toEqual([{ one: 1 }]);
    expect(attempts).toBe(2);
  } finally {
    await prisma.$disconnect();
  }
});
