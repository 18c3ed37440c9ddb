/**
 * Typed failures of the ingestion pipeline. Every error carries a stable `code`
 * a caller can branch on, a `message` that is safe to show the user (it never
 * contains resolved addresses, stack traces or server responses), and an
 * optional `detail` for the log only.
 */

export const ingestErrorCodes = [
  "invalid_input",
  "invalid_url",
  "unsupported_scheme",
  "blocked_address",
  "unreachable",
  "timeout",
  "too_large",
  "too_many_redirects",
  "http_error",
  "unsupported_content_type",
  "empty_document",
  "corrupt_document",
  "protected_document",
  /** More pages than a document may have. */
  "too_many_pages",
  /** A document that unpacks to, or needs, more memory than allowed (decompression bombs). */
  "too_complex",
  /** Reading the document took longer than allowed; the same file would again. */
  "extraction_timeout",
  "aborted",
] as const;

export type IngestErrorCode = (typeof ingestErrorCodes)[number];

// Transient conditions a retry may fix; everything else fails the same way again.
const retryableCodes: ReadonlySet<IngestErrorCode> = new Set(["unreachable", "timeout"]);

export class IngestError extends Error {
  override readonly name = "IngestError";
  readonly code: IngestErrorCode;
  /** Diagnostic text for the log (may name hosts, addresses, library messages). Never show it to the user. */
  readonly detail: string | undefined;
  /** HTTP status of the response, for `http_error`. */
  readonly status: number | undefined;

  constructor(
    code: IngestErrorCode,
    message: string,
    options: { detail?: string; status?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.detail = options.detail;
    this.status = options.status;
  }

  /**
   * Whether retrying the same input may succeed. Inngest steps should throw a
   * `NonRetriableError` for the rest. 5xx and 429 responses count as transient.
   */
  get retryable(): boolean {
    if (this.code === "http_error")
      return this.status === undefined || this.status === 429 || this.status >= 500;
    return retryableCodes.has(this.code);
  }
}

export function isIngestError(error: unknown): error is IngestError {
  return error instanceof IngestError;
}
