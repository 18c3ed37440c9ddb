/**
 * What route handlers (and the tRPC context) read from a request the same
 * way: its correlation id, and the one media type its body must have.
 */
import "server-only";
import { randomUUID } from "node:crypto";
import { DomainError } from "@/lib/errors";

/** A caller's `x-correlation-id` if it sent a sane one, else a fresh id for this request. */
export function correlationIdOf(headers: Headers): string {
  const given = headers.get("x-correlation-id");
  return given && /^[\w.:-]{1,200}$/.test(given) ? given : randomUUID();
}

/** The media types a header lists, split at commas outside quoted parameters. */
function listedMediaTypes(header: string): string[] {
  const types: string[] = [];
  let current = "";
  let quoted = false;
  for (const char of header) {
    if (char === '"') quoted = !quoted;
    if (char === "," && !quoted) {
      types.push(current);
      current = "";
    } else current += char;
  }
  types.push(current);
  return types.map((type) => type.trim()).filter(Boolean);
}

/**
 * Refuses a body that is not `expected`, saying why: no Content-Type, one
 * listing several types (ambiguous, so never guessed at), or another type.
 */
export function requireMediaType(headers: Headers, expected: string): void {
  const types = listedMediaTypes(headers.get("content-type") ?? "");
  if (types.length === 0)
    throw new DomainError("unsupported_media_type", {
      message: `The request has no Content-Type; send ${expected}.`,
    });
  if (types.length > 1)
    throw new DomainError("unsupported_media_type", {
      message: `The Content-Type lists ${types.length} types; send exactly one: ${expected}.`,
    });
  const essence = types[0]!.split(";")[0]!.trim().toLowerCase();
  if (essence !== expected)
    throw new DomainError("unsupported_media_type", {
      message: `The Content-Type is ${essence || "empty"}; send ${expected}.`,
    });
}
