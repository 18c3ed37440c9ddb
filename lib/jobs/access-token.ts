/**
 * Signed access tokens for one job, as emails carry: whoever holds the link
 * may open that job (and nothing else) from any browser until it expires.
 * Format `v1.<expiry seconds>.<HMAC-SHA256 base64url>`; the job id is signed
 * but not included, because the token always travels beside it in the URL.
 */
import "server-only";
import { createHmac, timingSafeEqual } from "node:crypto";
import { env } from "@/lib/env";

const VERSION = "v1";
const DEFAULT_TOKEN_TTL_SECONDS = 30 * 24 * 60 * 60;

function signature(jobId: string, expiresAt: number, secret: string): Buffer {
  // Domain-separated, so no other HMAC made with the same secret can pass as this one.
  return createHmac("sha256", secret)
    .update(`dispatch:job-access:${VERSION}:${jobId}:${expiresAt}`)
    .digest();
}

export function createJobAccessToken(
  jobId: string,
  options: { ttlSeconds?: number; now?: Date; secret?: string } = {},
): string {
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const expiresAt = now + (options.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS);
  const mac = signature(jobId, expiresAt, options.secret ?? env.SESSION_SECRET).toString(
    "base64url",
  );
  return `${VERSION}.${expiresAt}.${mac}`;
}

type TokenCheck = "valid" | "expired" | "invalid";

export function checkJobAccessToken(
  jobId: string,
  token: string,
  options: { now?: Date; secret?: string } = {},
): TokenCheck {
  const match = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return "invalid";
  const expiresAt = Number(match[1]);
  // Compare the text, not the decoded bytes: base64url's last character carries
  // padding bits, so several spellings would decode to the same MAC.
  const given = Buffer.from(match[2]!, "ascii");
  const expected = Buffer.from(
    signature(jobId, expiresAt, options.secret ?? env.SESSION_SECRET).toString("base64url"),
    "ascii",
  );
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "invalid";
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  return expiresAt > now ? "valid" : "expired";
}

/** The permalink an email should carry. */
export function jobAccessUrl(jobId: string, options: { ttlSeconds?: number } = {}): string {
  const url = new URL(`/jobs/${jobId}`, env.APP_URL);
  url.searchParams.set("token", createJobAccessToken(jobId, options));
  return url.toString();
}
