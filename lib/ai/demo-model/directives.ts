/**
 * Demo-model directives: fault injection and pace, given per request as
 * `[[demo:…]]` markers in the last user message or an `x-demo-fault` header,
 * or for every request by server configuration.
 *
 * Grammar of one directive: `KIND[=N]` followed by optional parameters
 * `times=K`, `every=K`, `after=N`, `retry-after=S`, separated by spaces,
 * commas or (for `times` and `every`) a dash, e.g. `fail-500-times=2`, `drop-after=20`,
 * `stall-ms=5000 after=10`, `fail-429 retry-after=2 times=1`, `tps=5`.
 * Several directives: several markers, or `;` between them in a header or
 * in the configuration.
 *
 * In the Batch API (batch.ts) every row is a request: `fail-429` and
 * `fail-500` fail the row into the error file, the stream faults and pace do
 * not apply. `batch-expire after=N` is a batch's own fault: the batch's
 * completion window ends after N rows, wherever the directive comes from
 * (configuration, the `x-demo-fault` header of `POST /v1/batches`, a marker
 * in any row); live requests ignore it.
 */
import { createHash } from "node:crypto";

export type FaultKind = "fail-429" | "fail-500" | "drop-after" | "stall-ms" | "batch-expire";

export interface FaultDirective {
  kind: FaultKind;
  /** drop-after: tokens before the drop; stall-ms: the stall's length. */
  value: number;
  /** Only the first `times` attempts of an identical request fail. */
  times?: number;
  /** Only every `every`-th request (counted per directive) fails. */
  every?: number;
  /** stall-ms: tokens to send before stalling; batch-expire: rows answered before expiry (default 0). */
  after: number;
  /** fail-429: the Retry-After header, in seconds. */
  retryAfterSeconds: number;
}

export interface PaceDirective {
  ttftMs?: number;
  tokensPerSecond?: number;
}

export interface Directives {
  faults: FaultDirective[];
  pace: PaceDirective;
}

export class DirectiveError extends Error {
  override name = "DirectiveError";
}

export const MARKER_PATTERN = /\[\[demo:([^\]]*)\]\]/g;

const DEFAULT_RETRY_AFTER_SECONDS = 1;

function nonNegativeInteger(raw: string | undefined, what: string): number {
  const value = Number(raw);
  if (raw === undefined || raw === "" || !Number.isInteger(value) || value < 0) {
    throw new DirectiveError(`${what} needs a non-negative integer, got "${raw ?? ""}"`);
  }
  return value;
}

/** Parses one directive such as `drop-after=20 times=1`; pace directives go into `pace`. */
function parseDirective(source: string, into: Directives): void {
  const text = source
    .trim()
    .toLowerCase()
    .replace(/-(times|every)=/g, " $1=");
  if (!text) return;
  const [head = "", ...params] = text.split(/[\s,]+/);
  const [name, rawValue] = head.split("=", 2) as [string, string | undefined];
  const options = new Map<string, string>();
  for (const param of params) {
    const [key, value] = param.split("=", 2) as [string, string | undefined];
    if (!["times", "every", "after", "retry-after"].includes(key) || value === undefined) {
      throw new DirectiveError(`unknown parameter "${param}" in demo directive "${source.trim()}"`);
    }
    options.set(key, value);
  }
  switch (name) {
    case "ttft-ms":
      into.pace.ttftMs = nonNegativeInteger(rawValue, "ttft-ms");
      return;
    case "tps":
    case "tokens-per-second":
      into.pace.tokensPerSecond = nonNegativeInteger(rawValue, "tps");
      return;
    case "fail-429":
    case "fail-500":
    case "drop-after":
    case "stall-ms":
    case "batch-expire": {
      const takesValue = name === "drop-after" || name === "stall-ms";
      if (!takesValue && rawValue !== undefined) throw new DirectiveError(`${name} takes no value`);
      into.faults.push({
        kind: name,
        value: takesValue ? nonNegativeInteger(rawValue, name) : 0,
        times: options.has("times") ? nonNegativeInteger(options.get("times"), "times") : undefined,
        every: options.has("every")
          ? Math.max(1, nonNegativeInteger(options.get("every"), "every"))
          : undefined,
        after: options.has("after") ? nonNegativeInteger(options.get("after"), "after") : 0,
        retryAfterSeconds: options.has("retry-after")
          ? nonNegativeInteger(options.get("retry-after"), "retry-after")
          : DEFAULT_RETRY_AFTER_SECONDS,
      });
      return;
    }
    default:
      throw new DirectiveError(`unknown demo directive "${source.trim()}"`);
  }
}

/** Parses a `;`-separated list, as in the `x-demo-fault` header or `DEMO_MODEL_FAULTS`. */
export function parseDirectiveList(
  list: string | undefined,
  into: Directives = emptyDirectives(),
): Directives {
  for (const part of (list ?? "").split(";")) parseDirective(part, into);
  return into;
}

/** Parses every `[[demo:…]]` marker in `text`. */
export function parseMarkers(text: string, into: Directives = emptyDirectives()): Directives {
  for (const match of text.matchAll(MARKER_PATTERN)) parseDirective(match[1]!, into);
  return into;
}

/** `text` without its markers; text without markers comes back unchanged. */
export function stripMarkers(text: string): string {
  if (!text.includes("[[demo:")) return text;
  return text.replace(/[ \t]*\[\[demo:[^\]]*\]\]/g, "").trim();
}

export function emptyDirectives(): Directives {
  return { faults: [], pace: {} };
}

/**
 * Decides which directives apply to this attempt. `times` counts attempts of
 * an identical request (same key), `every` counts all requests carrying the
 * directive; both live in bounded maps owned by one server.
 */
export class FaultLedger {
  private readonly attempts = new Map<string, number>();
  private readonly seen = new Map<string, number>();

  constructor(private readonly capacity = 10_000) {}

  /** Records one attempt of the request `requestKey`; returns the faults that fire on it. */
  select(faults: readonly FaultDirective[], requestKey: string): FaultDirective[] {
    const attempt = this.bump(this.attempts, requestKey);
    return faults.filter((fault) => {
      if (fault.times !== undefined && attempt > fault.times) return false;
      if (fault.every !== undefined) {
        const count = this.bump(this.seen, JSON.stringify(fault));
        if (count % fault.every !== 0) return false;
      }
      return true;
    });
  }

  private bump(map: Map<string, number>, key: string): number {
    const count = (map.get(key) ?? 0) + 1;
    map.delete(key);
    map.set(key, count);
    // Maps iterate in insertion order, so the first key is the least recently used.
    if (map.size > this.capacity) map.delete(map.keys().next().value!);
    return count;
  }
}

/** A stable key for "the same request": a hash of the model and the messages. */
export function requestKey(model: string, messages: unknown): string {
  return createHash("sha256")
    .update(JSON.stringify([model, messages]))
    .digest("base64url");
}
