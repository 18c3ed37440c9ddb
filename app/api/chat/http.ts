/**
 * The HTTP side shared by the chat routes: correlation ids, the owner from
 * the cookie, Server-Timing, and the one mapping from chat errors to
 * responses. Unexpected errors answer with a generic message and the
 * correlation id; their details go to the log, never to the client.
 */
import "server-only";
import { UI_MESSAGE_STREAM_HEADERS } from "ai";
import { randomUUID } from "node:crypto";
import { ownerIdFromHeaders } from "@/lib/auth/owner-cookie";
import { ChatError } from "@/lib/chat/schema";
import { isDatabaseUnavailable } from "@/lib/db/errors";
import { errorResponse as httpErrorResponse } from "@/lib/http/errors";
import { logger } from "@/lib/logger";

const CORRELATION_ID = /^[A-Za-z0-9_.:-]{8,64}$/;

export function correlationIdOf(req: Request): string {
  const incoming = req.headers.get("x-correlation-id");
  return incoming && CORRELATION_ID.test(incoming) ? incoming : randomUUID();
}

export async function requireOwner(req: Request): Promise<string> {
  const ownerId = await ownerIdFromHeaders(req.headers);
  if (!ownerId)
    throw new ChatError(
      "unauthorized",
      "This browser has no Dispatch identity yet. Reload the page.",
      401,
    );
  return ownerId;
}

/** Phases before the stream starts, as a Server-Timing header (visible in devtools). */
export class ServerTiming {
  private last = performance.now();
  private readonly entries: string[] = [];
  mark(name: string) {
    const now = performance.now();
    this.entries.push(`${name};dur=${(now - this.last).toFixed(2)}`);
    this.last = now;
  }
  note(name: string, description: string) {
    this.entries.push(`${name};desc=${description}`);
  }
  header() {
    return this.entries.join(", ");
  }
}

/** A UI message stream response, flushed token by token. */
export function streamResponse(body: ReadableStream<Uint8Array>, headers: Record<string, string>) {
  return new Response(body, {
    headers: {
      ...UI_MESSAGE_STREAM_HEADERS,
      ...headers,
      // NOTE: no-transform keeps compression proxies (and next start's own gzip) from
      // buffering the stream: every token is flushed as it comes.
      "cache-control": "no-cache, no-transform",
    },
  });
}

export function errorResponse(error: unknown, correlationId: string, event: string): Response {
  // A database restart is no chat matter: the one mapping of lib/http answers it (503, Retry-After).
  if (isDatabaseUnavailable(error)) {
    const response = httpErrorResponse(error, { event, correlationId });
    response.headers.set("x-correlation-id", correlationId);
    return response;
  }
  let refused: ChatError;
  if (error instanceof ChatError) refused = error;
  else {
    logger.error(event, { correlationId, error });
    refused = new ChatError(
      "internal_error",
      `The chat request failed. Reference: ${correlationId}.`,
      500,
    );
  }
  const headers: Record<string, string> = { "x-correlation-id": correlationId };
  if (refused.retryAfterMs !== undefined)
    headers["retry-after"] = String(Math.ceil(refused.retryAfterMs / 1000));
  return Response.json(
    { error: { code: refused.code, message: refused.message, correlationId } },
    { status: refused.status, headers },
  );
}
