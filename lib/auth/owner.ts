/**
 * Owner rows: the identity in the cookie (lib/auth/owner-cookie.ts) becomes a
 * row in Postgres the first time a request needs it.
 */
import "server-only";
import { db } from "@/lib/db";

// Owners already known to exist, so most requests skip the write entirely.
const knownOwners = new Map<string, number>();
const TOUCH_INTERVAL_MS = 10 * 60 * 1000;
const KNOWN_OWNERS_MAX = 10_000;

/** Makes sure the owner row exists (and refreshes `last_seen_at` now and then). */
export async function ensureOwner(ownerId: string): Promise<void> {
  const now = Date.now();
  const seenAt = knownOwners.get(ownerId);
  if (seenAt !== undefined && now - seenAt < TOUCH_INTERVAL_MS) return;
  await db.$executeRaw`
    INSERT INTO owners (id) VALUES (${ownerId}::uuid)
    ON CONFLICT (id) DO UPDATE SET last_seen_at = now()`;
  if (knownOwners.size >= KNOWN_OWNERS_MAX) knownOwners.clear();
  knownOwners.set(ownerId, now);
}
