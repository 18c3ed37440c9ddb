import { randomUUID } from "node:crypto";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { isDatabaseUnavailable, isUniqueViolation } from "@/lib/db/errors";
import { PrismaClient } from "@/lib/generated/prisma/client";
import { hostOf, startTcpProxy } from "@/test/tcp-proxy";
import { waitUntil } from "@/test/wait";

describe("isUniqueViolation", () => {
  it("recognises a duplicate key from typed and raw queries, and nothing else", async () => {
    const id = randomUUID();
    await db.owner.create({ data: { id } });
    const typed = await db.owner.create({ data: { id } }).catch((error: unknown) => error);
    const raw = await db.$executeRaw`INSERT INTO owners (id) VALUES (${id}::uuid)`.catch(
      (error: unknown) => error,
    );
    const other = await db.$executeRaw`SELECT no_such_column FROM owners`.catch(
      (error: unknown) => error,
    );
    expect(isUniqueViolation(typed)).toBe(true);
    expect(isUniqueViolation(raw)).toBe(true);
    expect(isUniqueViolation(other)).toBe(false);
    expect(isUniqueViolation(new Error("duplicate key"))).toBe(false);
  });
});

describe("isDatabaseUnavailable", () => {
  it("recognises a database that went away mid-query, refuses connections or terminated the session", async () => {
    const url = process.env.DATABASE_URL!;
    const proxy = await startTcpProxy(hostOf(url));
    const client = new PrismaClient({
      adapter: new PrismaPg({ connectionString: proxy.urlFor(url) }),
    });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await client.$queryRaw`SELECT 1`;
      const cutMidQuery = client.$queryRaw`SELECT pg_sleep(5)`.catch((error: unknown) => error);
      await waitUntil(
        () => admin.query(`SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(5)'`),
        (result) => (result.rowCount ?? 0) > 0,
        { what: "the query running" },
      );
      await proxy.cut();
      const refusedRaw = await client.$queryRaw`SELECT 1`.catch((error: unknown) => error);
      const refusedTyped = await client.owner.findFirst().catch((error: unknown) => error);
      await proxy.restore();
      const marker = `probe_${randomUUID().slice(0, 8)}`;
      const terminated = client
        .$queryRawUnsafe(`SELECT pg_sleep(5), '${marker}'`)
        .catch((error: unknown) => error);
      await waitUntil(
        () =>
          admin.query(
            `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()`,
            [`%'${marker}'%`],
          ),
        (result) => (result.rowCount ?? 0) > 0,
        { what: "the query terminated" },
      );
      for (const error of [await cutMidQuery, refusedRaw, refusedTyped, await terminated]) {
        expect(error).toBeInstanceOf(Error);
        expect(isDatabaseUnavailable(error)).toBe(true);
        expect(isDatabaseUnavailable(new Error("wrapped", { cause: error }))).toBe(true);
      }
      const syntax = await client.$queryRaw`SELECT no_such_column FROM owners`.catch(
        (error: unknown) => error,
      );
      expect(isDatabaseUnavailable(syntax)).toBe(false);
      expect(isDatabaseUnavailable(new Error("fetch failed"))).toBe(false);
      expect(isDatabaseUnavailable(undefined)).toBe(false);
    } finally {
      await admin.end();
      await client.$disconnect();
      await proxy.close();
    }
  });
});
