/**
 * Fixed-window rate limiting in Postgres, so every app instance shares the
 * same counters. One round trip: the window resets itself when it is over.
 */
import "server-only";
import { db } from "@/lib/db";

export interface RateLimitResult {
  allowed: boolean;
  remaining: number;
  retryAfterMs: number;
}

export async function consumeRateLimit(
  key: string,
  limit: number,
  windowMs: number,
): Promise<RateLimitResult> {
  const rows = await db.$queryRaw<Array<{ count: number; window_start: Date }>>`
    INSERT INTO rate_limits (key, window_start, count) VALUES (${key}, now(), 1)
    ON CONFLICT (key) DO UPDATE SET
      count = CASE WHEN rate_limits.window_start <= now() - ${windowMs} * interval '1 millisecond'
                   THEN 1 ELSE rate_limits.count + 1 END,
      window_start = CASE WHEN rate_limits.window_start <= now() - ${windowMs} * interval '1 millisecond'
                   THEN now() ELSE rate_limits.window_start END
    RETURNING count, window_start`;
  const row = rows[0]!;
  const retryAfterMs = Math.max(0, row.window_start.getTime() + windowMs - Date.now());
  return { allowed: row.count <= limit, remaining: Math.max(0, limit - row.count), retryAfterMs };
}
