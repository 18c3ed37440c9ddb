import { APICallError } from "ai";
import { describe, expect, it } from "vitest";
import { defaultRetryPolicy, isRetryable, retryAfterMs, retryDelay } from "@/lib/chat/retry-policy";

function httpError(statusCode: number, responseHeaders?: Record<string, string>) {
  return new APICallError({
    message: `HTTP ${statusCode}`,
    url: "http://model",
    requestBodyValues: {},
    statusCode,
    responseHeaders,
  });
}

describe("retry policy", () => {
  it("retries only transient failures", () => {
    for (const status of [408, 409, 429, 500, 502, 503])
      expect(isRetryable(httpError(status))).toBe(true);
    for (const status of [400, 401, 403, 404, 422])
      expect(isRetryable(httpError(status))).toBe(false);
    expect(isRetryable(Object.assign(new Error("connect"), { code: "ECONNREFUSED" }))).toBe(true);
    const dropped = new APICallError({
      message: "Failed to process successful response",
      url: "http://model",
      requestBodyValues: {},
      cause: new TypeError("terminated", { cause: new Error("other side closed") }),
    });
    expect(isRetryable(dropped)).toBe(true);
    expect(isRetryable(new DOMException("Stopped", "AbortError"))).toBe(false);
    expect(isRetryable(new Error("schema validation failed"))).toBe(false);
  });

  it("backs off exponentially with equal jitter, capped", () => {
    const error = httpError(500);
    const low = [0, 1, 2].map((retry) =>
      retryDelay(error, retry, { ...defaultRetryPolicy, maxRetries: 9 }, () => 0),
    );
    const high = [0, 1, 2].map((retry) =>
      retryDelay(error, retry, { ...defaultRetryPolicy, maxRetries: 9 }, () => 1),
    );
    expect(low).toEqual([125, 250, 500]);
    expect(high).toEqual([250, 500, 1000]);
    const capped = retryDelay(error, 8, { ...defaultRetryPolicy, maxRetries: 9 }, () => 1);
    expect(capped).toBe(defaultRetryPolicy.maxDelayMs);
  });

  it("stops after the retry budget", () => {
    const error = httpError(503);
    expect(retryDelay(error, defaultRetryPolicy.maxRetries - 1)).not.toBeNull();
    expect(retryDelay(error, defaultRetryPolicy.maxRetries)).toBeNull();
  });

  it("honours Retry-After in seconds, as a date, and retry-after-ms, and refuses to wait too long", () => {
    expect(retryAfterMs(httpError(429, { "Retry-After": "2" }))).toBe(2000);
    expect(retryAfterMs(httpError(429, { "retry-after-ms": "150" }))).toBe(150);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(
      retryAfterMs(httpError(429, { "retry-after": "Thu, 01 Jan 2026 00:00:03 GMT" }), now),
    ).toBe(3000);
    expect(retryDelay(httpError(429, { "retry-after": "2" }), 0)).toBe(2000);
    expect(retryDelay(httpError(429, { "retry-after": "60" }), 0)).toBeNull();
    expect(retryAfterMs(httpError(429, { "retry-after": "soon" }))).toBeUndefined();
  });
});
