/**
 * Under load every pooled connection can be busy for longer than Prisma's
 * default 2 s: a transaction then waits its turn instead of failing (the
 * load run's `jobs.create` 500s and failed jobs, bench/load.ts).
 */
import { afterAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";

afterAll(() => db.$disconnect());

describe("transactions on a busy pool", () => {
  it("wait for a connection longer than Prisma's default 2 s instead of failing", async () => {
    let release!: () => void;
    const busy = new Promise<void>((resolve) => (release = resolve));
    let held = 0;
    // Every connection of the pool (lib/db.ts: 20) inside a transaction that waits.
    const holders = Array.from({ length: 20 }, () =>
      db.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT 1`;
        held += 1;
        await busy;
      }),
    );
    await expect.poll(() => held).toBe(20);
    const started = Date.now();
    const waiting = db.$transaction(
      async (tx) => tx.$queryRaw<Array<{ n: number }>>`SELECT 2 AS n`,
    );
    const timer = setTimeout(release, 3_000);
    try {
      await expect(waiting).resolves.toEqual([{ n: 2 }]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
    } finally {
      clearTimeout(timer);
      release();
      await Promise.all(holders);
    }
  });
});
