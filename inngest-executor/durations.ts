/**
 * The SDK sends durations as Inngest time strings ("1w2d3h4m5s") and
 * `sleepUntil` targets as ISO dates.
 */
const UNIT_MS: Record<string, number> = {
  w: 604_800_000,
  d: 86_400_000,
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
};

export function parseDurationMs(value: string): number | undefined {
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const re = /(\d+(?:\.\d+)?)(ms|w|d|h|m|s)/g;
  let total = 0;
  let consumed = 0;
  for (const match of trimmed.matchAll(re)) {
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ""] ?? 0);
    consumed += match[0].length;
  }
  return consumed > 0 && consumed === trimmed.length ? total : undefined;
}

/** Resolves a sleep target (duration or ISO date) to an absolute time. */
export function resolveWakeTime(value: string, now = Date.now()): Date {
  const duration = parseDurationMs(value);
  if (duration !== undefined) return new Date(now + duration);
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new Error(`Unrecognised sleep target: ${value}`);
  return date;
}

/** Parses a `retry-after` header: seconds, or an HTTP/ISO date. */
export function parseRetryAfter(
  value: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value) * 1000;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return undefined;
  return Math.max(0, date.getTime() - now);
}
