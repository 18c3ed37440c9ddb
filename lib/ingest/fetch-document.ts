/**
 * SSRF-safe download of a user-supplied URL.
 *
 * - http(s) only, no credentials in the URL.
 * - Public addresses only: IP literals are checked before connecting, hostnames
 *   inside the socket's DNS lookup (see address-policy.ts), so the checked
 *   address is the connected address.
 * - Redirects are followed by hand, each hop parsed and checked again, up to
 *   `maxRedirects`.
 * - A total deadline, a connect timeout, a byte cap enforced while streaming,
 *   and a content-type allowlist checked before the body is read.
 *
 * NOTE: undici's `request` is used with a fresh Agent per hop, not the global
 * `fetch`: the global dispatcher may be shared with code that reaches private
 * services (the database, the model server), and per-hop agents keep one hop's
 * policy from leaking into a pooled connection of another.
 */
import { pipeline } from "node:stream";
import zlib from "node:zlib";
import { Agent, request } from "undici";
import { z } from "zod";
import {
  BlockedAddressError,
  createGuardedLookup,
  isIpLiteral,
  isPublicAddress,
} from "@/lib/ingest/address-policy";
import {
  isSupportedContentType,
  listedContentTypes,
  parseContentType,
  sniffContentType,
  supportedContentTypes,
  type SupportedContentType,
} from "@/lib/ingest/content-type";
import { IngestError } from "@/lib/ingest/errors";

export const fetchDefaults = {
  maxBytes: 20 * 1024 * 1024,
  timeoutMs: 30_000,
  connectTimeoutMs: 10_000,
  maxRedirects: 5,
} as const;

/** What the tRPC layer accepts as a document URL; `fetchDocument` re-checks everything itself. */
export const documentUrlSchema = z
  .string()
  .trim()
  .max(2048)
  .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), {
    message: "Enter an http:// or https:// address.",
  });

export interface FetchDocumentOptions {
  /** Abort past this many body bytes. */
  maxBytes?: number;
  /** Deadline for the whole download, redirects included. */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  maxRedirects?: number;
  /** Subset of the supported types to accept (default: all of them). */
  allowedContentTypes?: readonly SupportedContentType[];
  signal?: AbortSignal;
  userAgent?: string;
  /**
   * Lets every hop connect to loopback and private addresses. For tests and
   * trusted operator configuration only: never derive it from user input.
   */
  allowPrivateNetworks?: boolean;
  /**
   * `host` or `host:port` values (as in `URL.host`) that may resolve to private
   * addresses, e.g. an operator's internal search service. Only a hop whose URL
   * names one of these hosts gets the exemption; redirects elsewhere are checked
   * normally. Never derive it from user input.
   */
  trustedPrivateHosts?: readonly string[];
}

export interface FetchedDocument {
  /** The URL the document was finally served from (after redirects). */
  url: string;
  requestedUrl: string;
  /** Every URL redirected to, in order. */
  redirects: string[];
  status: number;
  /** Accepted type; for `application/octet-stream` or a missing header, the sniffed type. */
  contentType: SupportedContentType;
  /** Charset from the Content-Type header, if any. */
  charset: string | undefined;
  bytes: Uint8Array;
  /** Last path segment of the final URL, to help tell Markdown from plain text. */
  fileName: string | undefined;
}

const redirectStatuses = new Set([301, 302, 303, 307, 308]);
const defaultUserAgent = "DispatchBot/0.1 (document summarizer)";

export async function fetchDocument(
  input: string | URL,
  options: FetchDocumentOptions = {},
): Promise<FetchedDocument> {
  const maxBytes = options.maxBytes ?? fetchDefaults.maxBytes;
  const timeoutMs = options.timeoutMs ?? fetchDefaults.timeoutMs;
  const maxRedirects = options.maxRedirects ?? fetchDefaults.maxRedirects;
  const allowed = options.allowedContentTypes ?? undefined;
  const requestedUrl = parseTarget(String(input));
  const trustedHosts = new Set(
    (options.trustedPrivateHosts ?? []).map((host) => host.toLowerCase()),
  );

  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  timer.unref();
  const signal = options.signal
    ? AbortSignal.any([options.signal, deadline.signal])
    : deadline.signal;

  const redirects: string[] = [];
  let current = requestedUrl;
  try {
    for (;;) {
      const allowPrivate = options.allowPrivateNetworks === true || trustedHosts.has(current.host);
      checkLiteralAddress(current, allowPrivate);
      const agent = new Agent({
        connect: {
          lookup: createGuardedLookup({ allowPrivate }),
          timeout: options.connectTimeoutMs ?? fetchDefaults.connectTimeoutMs,
        },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        connections: 1,
        pipelining: 0,
      });
      try {
        const response = await request(current, {
          method: "GET",
          dispatcher: agent,
          signal,
          headers: {
            accept: `${(allowed ?? supportedContentTypes).join(", ")}, */*;q=0.1`,
            // Decompression would let a small body expand past maxBytes unseen.
            "accept-encoding": "identity",
            "user-agent": options.userAgent ?? defaultUserAgent,
          },
        });
        const { statusCode, headers, body } = response;

        if (redirectStatuses.has(statusCode)) {
          discard(body);
          const location = headerValue(headers["location"]);
          if (!location)
            throw new IngestError("http_error", "The site sent a redirect without a destination.", {
              status: statusCode,
            });
          if (redirects.length >= maxRedirects) {
            throw new IngestError(
              "too_many_redirects",
              `The address redirected more than ${maxRedirects} times.`,
              { detail: redirects.join(" -> ") },
            );
          }
          current = parseTarget(location, current);
          redirects.push(current.href);
          continue;
        }
        if (statusCode < 200 || statusCode > 299) {
          discard(body);
          throw new IngestError("http_error", `The site answered with HTTP ${statusCode}.`, {
            status: statusCode,
          });
        }

        const declaredHeader = headerValue(headers["content-type"]);
        const listed = listedContentTypes(declaredHeader);
        if (listed.length > 1) {
          discard(body);
          throw ambiguousType(listed);
        }
        const declared = parseContentType(declaredHeader);
        const isOpaque =
          declared.essence === "" ||
          declared.essence === "application/octet-stream" ||
          declared.essence === "binary/octet-stream";
        if (!isOpaque && !isAccepted(declared.essence, allowed)) {
          discard(body);
          throw unsupportedType(declared.essence);
        }
        const contentLength = Number(headerValue(headers["content-length"]) ?? NaN);
        if (Number.isFinite(contentLength) && contentLength > maxBytes) {
          discard(body);
          throw tooLarge(maxBytes, `content-length ${contentLength}`);
        }

        const bytes = await readCapped(
          decoded(body, headerValue(headers["content-encoding"])),
          maxBytes,
        );
        let contentType: SupportedContentType;
        if (isOpaque) {
          const sniffed = await sniffContentType(bytes, { fileName: lastPathSegment(current) });
          if (!sniffed.ok || !isAccepted(sniffed.contentType, allowed))
            throw unsupportedType(declared.essence || "unknown");
          contentType = sniffed.contentType;
        } else {
          contentType = declared.essence as SupportedContentType;
        }
        return {
          url: current.href,
          requestedUrl: requestedUrl.href,
          redirects,
          status: statusCode,
          contentType,
          charset: declared.charset,
          bytes,
          fileName: lastPathSegment(current),
        };
      } finally {
        agent.destroy().catch(() => undefined);
      }
    }
  } catch (error) {
    throw toIngestError(error, {
      timedOut: deadline.signal.aborted && !options.signal?.aborted,
      aborted: options.signal?.aborted === true,
      timeoutMs,
    });
  } finally {
    clearTimeout(timer);
  }
}

function parseTarget(raw: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    throw new IngestError("invalid_url", "That is not a valid web address.");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new IngestError(
      "unsupported_scheme",
      "Only http:// and https:// addresses can be fetched.",
      { detail: url.protocol },
    );
  }
  if (url.username || url.password) {
    throw new IngestError(
      "invalid_url",
      "Addresses with a user name or password are not supported.",
    );
  }
  url.hash = "";
  return url;
}

// net.connect skips the lookup for IP literals, so they are checked here.
function checkLiteralAddress(url: URL, allowPrivate: boolean): void {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!allowPrivate && isIpLiteral(host) && !isPublicAddress(host)) {
    throw new BlockedAddressError(host, host);
  }
}

function isAccepted(
  essence: string,
  allowed: readonly SupportedContentType[] | undefined,
): boolean {
  return isSupportedContentType(essence) && (allowed === undefined || allowed.includes(essence));
}

function unsupportedType(essence: string): IngestError {
  return new IngestError(
    "unsupported_content_type",
    "This kind of document is not supported. Use a web page, a PDF, Markdown or plain text.",
    { detail: essence },
  );
}

function ambiguousType(listed: string[]): IngestError {
  return new IngestError(
    "unsupported_content_type",
    "The site declared several content types for this document, so its type is ambiguous. Use a link that serves one web page, PDF, Markdown or plain-text document.",
    { detail: `content-type lists ${listed.join(", ")}` },
  );
}

function tooLarge(maxBytes: number, detail: string): IngestError {
  return new IngestError("too_large", `The document is larger than ${formatBytes(maxBytes)}.`, {
    detail,
  });
}

async function readCapped(
  body: AsyncIterable<Uint8Array | string> & Parameters<typeof discard>[0],
  maxBytes: number,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const piece of body) {
    const chunk = typeof piece === "string" ? Buffer.from(piece) : piece;
    total += chunk.byteLength;
    if (total > maxBytes) {
      discard(body);
      throw tooLarge(maxBytes, `body exceeded ${maxBytes} bytes while streaming`);
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts, total);
}

/**
 * Some servers compress even when asked for identity. The cap applies to the
 * decompressed bytes, so a compression bomb stops at `maxBytes` like any body.
 */
function decoded(
  body: NodeJS.ReadableStream & Parameters<typeof discard>[0],
  encoding: string | undefined,
) {
  const name = encoding?.trim().toLowerCase();
  if (!name || name === "identity") return body;
  const decompressor =
    name === "gzip" || name === "x-gzip"
      ? zlib.createGunzip()
      : name === "deflate"
        ? zlib.createInflate()
        : name === "br"
          ? zlib.createBrotliDecompress()
          : undefined;
  if (!decompressor) {
    discard(body);
    throw new IngestError(
      "unsupported_content_type",
      "The site sent the document in an encoding that cannot be read.",
      { detail: `content-encoding ${name}` },
    );
  }
  // Errors surface through the decompressor, which readCapped iterates.
  pipeline(body, decompressor, () => undefined);
  return decompressor;
}

// undici's body emits an AbortError when destroyed unread; nobody is listening for it then.
function discard(body: {
  on(event: "error", listener: () => void): unknown;
  destroy(): unknown;
}): void {
  body.on("error", () => undefined);
  body.destroy();
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function lastPathSegment(url: URL): string | undefined {
  const segment = url.pathname.split("/").pop();
  if (!segment) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${Math.round(bytes / (1024 * 1024))} MB`
    : `${Math.round(bytes / 1024)} KB`;
}

const timeoutCodes = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ETIMEDOUT",
]);

function toIngestError(
  error: unknown,
  state: { timedOut: boolean; aborted: boolean; timeoutMs: number },
): IngestError {
  if (error instanceof IngestError) return error;
  const chain = causeChain(error);
  const blocked = chain.find(
    (entry): entry is BlockedAddressError => entry instanceof BlockedAddressError,
  );
  if (blocked) {
    return new IngestError(
      "blocked_address",
      "That address points to a private or local network and cannot be fetched.",
      { detail: blocked.message, cause: error },
    );
  }
  const detail = chain
    .map((entry) => (entry instanceof Error ? `${entry.name}: ${entry.message}` : String(entry)))
    .join(" <- ");
  if (state.aborted)
    return new IngestError("aborted", "The download was cancelled.", { detail, cause: error });
  const code = chain
    .map((entry) => (entry as { code?: unknown } | null)?.code)
    .find((value) => typeof value === "string");
  if (typeof code === "string" && code.startsWith("Z_")) {
    return new IngestError("corrupt_document", "The site sent a damaged compressed response.", {
      detail,
      cause: error,
    });
  }
  if (state.timedOut || (typeof code === "string" && timeoutCodes.has(code))) {
    return new IngestError(
      "timeout",
      `The site did not respond within ${Math.round(state.timeoutMs / 1000)} seconds.`,
      { detail, cause: error },
    );
  }
  return new IngestError("unreachable", "The site could not be reached.", { detail, cause: error });
}

function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (
    current !== undefined &&
    current !== null &&
    chain.length < 8 &&
    !chain.includes(current)
  ) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}
