/**
 * When a model call may be retried, and after how long.
 *
 * Only failures that happen before the first token are ever retried (see
 * first-token-retry.ts); this module decides which of those are transient:
 * HTTP 408, 409, 429 and 5xx, and connection errors. Delays grow
 * exponentially with "equal jitter" (half fixed, half random, so clients
 * spread out without ever retrying instantly), are capped, and a server's
 * Retry-After (seconds or HTTP date, or retry-after-ms) wins when present.
 */
import { APICallError } from "ai";

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the error is shown instead. */
  maxRetryAfterMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxRetries: 3,
  baseDelayMs: 250,
  maxDelayMs: 4_000,
  maxRetryAfterMs: 10_000,
};

const CONNECTION_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/** The error and its causes, outermost first. */
function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let current = error, depth = 0; current && depth < 6; depth++) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

export function statusCodeOf(error: unknown): number | undefined {
  return APICallError.isInstance(error) ? error.statusCode : undefined;
}

export function isConnectionError(error: unknown): boolean {
  return causeChain(error).some((cause) => {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string" && CONNECTION_ERROR_CODES.has(code)) return true;
    const message = cause instanceof Error ? cause.message : "";
    return /fetch failed|socket hang up|^terminated$|other side closed|ECONNRESET|ECONNREFUSED/i.test(
      message,
    );
  });
}

export function isRetryable(error: unknown): boolean {
  if (error instanceof Error && error.name === "AbortError") return false;
  // A stream that broke while being read carries no status: look at the cause.
  if (isConnectionError(error)) return true;
  const status = statusCodeOf(error);
  return (
    status !== undefined && (status === 408 || status === 409 || status === 429 || status >= 500)
  );
}

/** Milliseconds the server asked us to wait, from Retry-After / retry-after-ms. */
export function retryAfterMs(error: unknown, now = Date.now()): number | undefined {
  if (!APICallError.isInstance(error) || !error.responseHeaders) return undefined;
  const headers = Object.fromEntries(
    Object.entries(error.responseHeaders).map(([key, value]) => [key.toLowerCase(), value]),
  );
  const ms = Number(headers["retry-after-ms"]);
  if (headers["retry-after-ms"] !== undefined && Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers["retry-after"];
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (value.trim() !== "" && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The wait before retry number `retry` (0-based), or null when the error must
 * not be retried (not transient, out of retries, or asked to wait too long).
 */
export function retryDelay(
  error: unknown,
  retry: number,
  policy: RetryPolicy = defaultRetryPolicy,
  random: () => number = Math.random,
): number | null {
  if (retry >= policy.maxRetries || !isRetryable(error)) return null;
  const requested = retryAfterMs(error);
  if (requested !== undefined) return requested > policy.maxRetryAfterMs ? null : requested;
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.round(exponential / 2 + random() * (exponential / 2));
}
