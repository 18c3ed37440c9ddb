import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { consumeRateLimit } from "@/lib/chat/rate-limit";
import { db } from "@/lib/db";

describe("consumeRateLimit", () => {
  it("allows up to the limit within a window, then refuses with the wait", async () => {
    const key = `test:${randomUUID()}`;
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await consumeRateLimit(key, 3, 60_000));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(results[3]!.retryAfterMs).toBeGreaterThan(50_000);
    expect(results[3]!.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it("counts concurrent requests exactly", async () => {
    const key = `test:${randomUUID()}`;
    const results = await Promise.all(
      Array.from({ length: 10 }, () => consumeRateLimit(key, 5, 60_000)),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(5);
  });

  it("starts a new window when the old one is over", async () => {
    const key = `test:${randomUUID()}`;
    expect((await consumeRateLimit(key, 1, 60_000)).allowed).toBe(true);
    expect((await consumeRateLimit(key, 1, 60_000)).allowed).toBe(false);
    // Move the window into the past instead of waiting for it.
    await db.$executeRaw`UPDATE rate_limits SET window_start = now() - interval '61 seconds' WHERE key = ${key}`;
    const next = await consumeRateLimit(key, 1, 60_000);
    expect(next.allowed).toBe(true);
    expect(next.remaining).toBe(0);
  });
});
