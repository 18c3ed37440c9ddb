/**
 * Domain errors: what `lib/` throws when a request cannot be done as asked.
 * Each has a stable code, a message written for the user (never a library's
 * or the database's text), and a kind that decides how a transport answers:
 * tRPC maps kinds to its codes in lib/trpc/errors.ts, route handlers to HTTP
 * statuses in lib/http/errors.ts, each in that one place. Details for the
 * log go in `cause`.
 */

export type DomainErrorKind =
  | "invalid"
  | "unauthorized"
  | "not_found"
  | "conflict"
  | "too_large"
  | "unsupported"
  | "unavailable";

const catalog = {
  no_identity: {
    kind: "unauthorized",
    message: "This browser has no Dispatch identity yet. Reload the page.",
  },
  // NOTE: "not yours" and "does not exist" are one answer, so ids cannot be probed.
  job_not_found: { kind: "not_found", message: "No such job, or you do not have access to it." },
  conversation_not_found: { kind: "not_found", message: "This conversation does not exist." },
  document_not_found: { kind: "not_found", message: "That document is not in your library." },
  mail_not_found: { kind: "not_found", message: "No such email in the development mailbox." },
  not_waiting_for_input: { kind: "conflict", message: "This job is not waiting for your input." },
  cancel_not_delivered: {
    kind: "unavailable",
    message:
      "The cancel request was recorded but the background worker could not be reached. Try again.",
  },
  database_unavailable: {
    kind: "unavailable",
    message: "Dispatch cannot reach its database just now. Try again in a few seconds.",
  },
  invalid_upload: { kind: "invalid", message: "Send the file as multipart/form-data." },
  unsupported_media_type: {
    kind: "unsupported",
    message: "This request's Content-Type is not one this endpoint accepts.",
  },
  too_large: { kind: "too_large", message: "The request is too large." },
  invalid_request: { kind: "invalid", message: "The request is not valid." },
  invalid_batch_file: {
    kind: "invalid",
    message: "The file could not be read as a CSV or JSONL file with one text per row.",
  },
} as const satisfies Record<string, { kind: DomainErrorKind; message: string }>;

export type DomainErrorCode = keyof typeof catalog;

export class DomainError extends Error {
  override readonly name = "DomainError";
  readonly kind: DomainErrorKind;

  /** `message` replaces the catalog's when the caller can say more; it must be fit for the user. */
  constructor(
    readonly code: DomainErrorCode,
    options: { message?: string; cause?: unknown } = {},
  ) {
    super(options.message ?? catalog[code].message, { cause: options.cause });
    this.kind = catalog[code].kind;
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}

/** What an unexpected error tells the user: nothing of itself, only the reference to find it in the log. */
export function genericErrorMessage(correlationId: string | undefined): string {
  return `Something went wrong on our side.${correlationId ? ` Reference: ${correlationId}.` : ""}`;
}
