/**
 * POST /api/chat: one chat turn. This file owns the HTTP: it parses and
 * validates the body, maps refusals to responses and returns the answer's
 * stream with its Server-Timing; the turn itself is lib/chat/respond.ts.
 */
import { correlationIdOf, errorResponse, requireOwner, ServerTiming, streamResponse } from "./http";
import { respondToChat } from "@/lib/chat/respond";
import { ChatError, chatRequestSchema, fieldName } from "@/lib/chat/schema";
import { retryIfDatabaseUnavailable } from "@/lib/db/errors";

export const dynamic = "force-dynamic";
// Long answers stream for a while; hosts that cap function duration need this raised.
export const maxDuration = 300;

export async function POST(req: Request) {
  const correlationId = correlationIdOf(req);
  const timing = new ServerTiming();
  try {
    const ownerId = await requireOwner(req);
    const parsed = chatRequestSchema.safeParse(await req.json().catch(() => undefined));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.length ? fieldName(issue.path) : undefined;
      throw new ChatError(
        "invalid_request",
        field && issue?.code === "custom"
          ? `The field ${field} ${issue.message}.`
          : field
            ? `The chat request is malformed (${field}).`
            : "The chat request is malformed.",
      );
    }
    timing.mark("parse");
    // Nothing is sent before the stream, so a database restart here is retried once;
    // a second failure answers 503 with Retry-After (errorResponse).
    const body = await retryIfDatabaseUnavailable(() =>
      respondToChat({ ownerId, request: parsed.data, correlationId, timing }),
    );
    return streamResponse(body, {
      "x-correlation-id": correlationId,
      "server-timing": timing.header(),
    });
  } catch (error) {
    return errorResponse(error, correlationId, "chat.request_failed");
  }
}
