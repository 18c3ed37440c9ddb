/**
 * The one place domain errors (lib/errors.ts) become tRPC errors, and the one
 * place an error's answer is made safe: anything that is not a domain error
 * or a deliberate client error answers with a generic message and the
 * correlation id, whatever the environment; its details go to the log only.
 */
import "server-only";
import { TRPCError, type TRPC_ERROR_CODE_KEY } from "@trpc/server";
import { isDomainError, type DomainError, type DomainErrorKind } from "@/lib/errors";

const codeByKind: Record<DomainErrorKind, TRPC_ERROR_CODE_KEY> = {
  invalid: "BAD_REQUEST",
  unauthorized: "UNAUTHORIZED",
  not_found: "NOT_FOUND",
  conflict: "CONFLICT",
  too_large: "PAYLOAD_TOO_LARGE",
  unsupported: "UNSUPPORTED_MEDIA_TYPE",
  unavailable: "SERVICE_UNAVAILABLE",
};

export function toTRPCError(error: DomainError): TRPCError {
  return new TRPCError({ code: codeByKind[error.kind], message: error.message, cause: error });
}

/**
 * Whether an error's own message may reach the caller: ours (a domain error,
 * or a TRPCError a procedure threw on purpose with a client code), never an
 * unexpected one, whose message may hold SQL, paths or a library's internals.
 */
export function hasSafeMessage(error: TRPCError): boolean {
  if (isDomainError(error.cause)) return true;
  return error.code !== "INTERNAL_SERVER_ERROR";
}

/** For server components: a not-found answer is Next's 404, not an error page. */
export function isNotFoundError(error: unknown): boolean {
  return error instanceof TRPCError && error.code === "NOT_FOUND";
}
