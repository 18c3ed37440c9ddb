/**
 * GET /api/chat/[id]/stream: `useChat`'s resume request. Replays the
 * conversation's latest answer from its log and follows it live
 * (lib/chat/follow.ts); 204 when there is nothing to follow. `message` and
 * `after` say which answer the browser holds and the last event of it that
 * it rendered, after a network drop; a reload or a second tab sends neither.
 */
import { z } from "zod";
import { correlationIdOf, errorResponse, requireOwner, streamResponse } from "../../http";
import { followAnswer } from "@/lib/chat/follow";
import { ChatError, MESSAGE_ID } from "@/lib/chat/schema";

export const dynamic = "force-dynamic";
export const maxDuration = 300;

const querySchema = z.object({
  id: z.uuid(),
  message: MESSAGE_ID.optional(),
  after: z.coerce.number().int().min(0).max(2_000_000_000).optional(),
});

export async function GET(req: Request, { params }: { params: Promise<{ id: string }> }) {
  const correlationId = correlationIdOf(req);
  try {
    const ownerId = await requireOwner(req);
    const url = new URL(req.url);
    const parsed = querySchema.safeParse({
      id: (await params).id,
      message: url.searchParams.get("message") ?? undefined,
      after: url.searchParams.get("after") ?? undefined,
    });
    if (!parsed.success) throw new ChatError("invalid_request", "The resume request is malformed.");
    const { id, message, after } = parsed.data;
    const body = await followAnswer({
      ownerId,
      conversationId: id,
      resume: message && after !== undefined ? { messageId: message, afterSeq: after } : undefined,
    });
    if (!body) return new Response(null, { status: 204 });
    return streamResponse(body, { "x-correlation-id": correlationId });
  } catch (error) {
    return errorResponse(error, correlationId, "chat.follow_failed");
  }
}
