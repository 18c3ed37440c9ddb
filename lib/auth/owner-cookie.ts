/**
 * Owner cookies: anonymous owners: each browser gets a random owner id in a sealed cookie
 * (iron-session: encrypted and HMAC-signed with SESSION_SECRET, httpOnly,
 * SameSite=Lax). Every conversation and job is scoped to the owner, and the
 * owner row itself is created by `ensureOwner` (lib/auth/owner.ts).
 */
import "server-only";
import { randomUUID } from "node:crypto";
import { sealData, unsealData } from "iron-session";
import { z } from "zod";
import { env } from "@/lib/env";

export const OWNER_COOKIE = "dispatch_owner";
// Browsers cap cookie lifetimes at 400 days.
const OWNER_COOKIE_MAX_AGE_SECONDS = 400 * 24 * 60 * 60;

const ownerSealSchema = z.object({ v: z.literal(1), ownerId: z.uuid() });

export const ownerCookieOptions = {
  httpOnly: true,
  sameSite: "lax" as const,
  secure: env.APP_URL.startsWith("https://"),
  path: "/",
  maxAge: OWNER_COOKIE_MAX_AGE_SECONDS,
};

export async function sealOwnerId(ownerId: string): Promise<string> {
  return sealData(ownerSealSchema.parse({ v: 1, ownerId }), {
    password: env.SESSION_SECRET,
    ttl: 0,
  });
}

// Seals already verified: unsealing is several Web Crypto calls per request.
// A seal never expires (ttl 0) and the same string always unseals to the
// same owner under one secret, so a verified result can be reused as is.
const verifiedSeals = new Map<string, string>();
const VERIFIED_SEALS_MAX = 10_000;

/** The owner id in a cookie value, or null when it is missing, forged or corrupt. */
export async function unsealOwnerId(value: string | undefined | null): Promise<string | null> {
  if (!value) return null;
  const known = verifiedSeals.get(value);
  if (known) return known;
  try {
    const data = await unsealData<unknown>(value, { password: env.SESSION_SECRET, ttl: 0 });
    const parsed = ownerSealSchema.safeParse(data);
    if (!parsed.success) return null;
    if (verifiedSeals.size >= VERIFIED_SEALS_MAX) verifiedSeals.clear();
    verifiedSeals.set(value, parsed.data.ownerId);
    return parsed.data.ownerId;
  } catch {
    return null;
  }
}

export async function newOwnerCookie(): Promise<{ ownerId: string; value: string }> {
  const ownerId = randomUUID();
  return { ownerId, value: await sealOwnerId(ownerId) };
}

function cookieValue(cookieHeader: string | null, name: string): string | null {
  if (!cookieHeader) return null;
  for (const part of cookieHeader.split(";")) {
    const index = part.indexOf("=");
    if (index === -1) continue;
    if (part.slice(0, index).trim() === name)
      return decodeURIComponent(part.slice(index + 1).trim());
  }
  return null;
}

export async function ownerIdFromHeaders(headers: Headers): Promise<string | null> {
  return unsealOwnerId(cookieValue(headers.get("cookie"), OWNER_COOKIE));
}
