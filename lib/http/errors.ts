/**
 * The one place errors become HTTP answers for route handlers. Every answer
 * is `{ error: { code, message } }`: a domain error (lib/errors.ts) or an
 * ingestion error (lib/ingest/errors.ts) with its own code, safe message and
 * status; a database that is restarting or unreachable a 503 with
 * `Retry-After`; anything else a 500 with a generic message and the
 * correlation id, its details logged under that id, in every environment.
 */
import "server-only";
import { isDatabaseUnavailable } from "@/lib/db/errors";
import {
  DomainError,
  genericErrorMessage,
  isDomainError,
  type DomainErrorKind,
} from "@/lib/errors";
import { isIngestError, type IngestErrorCode } from "@/lib/ingest/errors";
import { logger } from "@/lib/logger";

const statusByKind: Record<DomainErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported: 415,
  unavailable: 503,
};

const statusByIngestCode: Partial<Record<IngestErrorCode, number>> = {
  too_large: 413,
  unsupported_content_type: 415,
  empty_document: 422,
  corrupt_document: 422,
  protected_document: 422,
  too_many_pages: 422,
  too_complex: 422,
  extraction_timeout: 422,
};

/** Seconds a client should wait before trying again while the database restarts. */
const DATABASE_RETRY_AFTER_SECONDS = 2;

function errorBody(
  status: number,
  error: { code: string; message: string; correlationId?: string },
  headers?: Record<string, string>,
) {
  return Response.json({ error }, { status, headers });
}

export function errorResponse(
  error: unknown,
  context: { event: string; correlationId: string; fields?: Record<string, unknown> },
): Response {
  if (isDomainError(error))
    return errorBody(statusByKind[error.kind], { code: error.code, message: error.message });
  if (isIngestError(error))
    return errorBody(statusByIngestCode[error.code] ?? 400, {
      code: error.code,
      message: error.message,
    });
  if (isDatabaseUnavailable(error)) {
    logger.warn(context.event, { correlationId: context.correlationId, ...context.fields, error });
    const unavailable = new DomainError("database_unavailable", { cause: error });
    return errorBody(
      statusByKind[unavailable.kind],
      {
        code: unavailable.code,
        message: unavailable.message,
        correlationId: context.correlationId,
      },
      { "retry-after": String(DATABASE_RETRY_AFTER_SECONDS) },
    );
  }
  logger.error(context.event, { correlationId: context.correlationId, ...context.fields, error });
  return errorBody(500, {
    code: "internal_error",
    message: genericErrorMessage(context.correlationId),
    correlationId: context.correlationId,
  });
}
