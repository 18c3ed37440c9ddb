/**
 * Following an answer from its log: what the resume request of `useChat`
 * (GET /api/chat/[id]/stream) gets, from any tab on any app instance. The
 * answer's events after the given point are replayed from the table, then
 * followed live through the process's hub (NOTIFY `{id, seq}`), with no gap
 * and no duplicate (see lib/event-log/hub.ts), up to the answer's terminal
 * `finish` chunk. While nothing arrives, the follower checks every
 * FOLLOWER_CHECK_MS that the generating process still holds its lease, so a
 * dead server's answer ends as interrupted within INTERRUPTED_BOUND_MS.
 *
 * Where a replay starts: `after` is the last seq the browser rendered of
 * this same answer (a network drop: the rest follows on the message it
 * has); without it, or for another message, from the start of the current
 * run, beginning with a `start` chunk, so the browser rebuilds the answer
 * from scratch (a reload, a second tab) and shows its text exactly once.
 */
import "server-only";
import { db } from "@/lib/db";
import { eventLogHub } from "@/lib/event-log/process-hub";
import { chatEventLog } from "@/lib/chat/event-log";
import { FOLLOWER_CHECK_MS, settleDeadAnswers } from "@/lib/chat/liveness";
import { ChatError } from "@/lib/chat/schema";
import { sseBody, sseFrame } from "@/lib/chat/sse";

export interface FollowRequest {
  ownerId: string;
  conversationId: string;
  /** The answer the browser holds part of, and the last seq of it that it rendered. */
  resume?: { messageId: string; afterSeq: number };
}

/**
 * The SSE body following the conversation's latest answer, or null when
 * there is nothing to follow (no answer, or one that ended and was replayed).
 */
export async function followAnswer(
  request: FollowRequest,
): Promise<ReadableStream<Uint8Array> | null> {
  const { ownerId, conversationId } = request;
  await settleDeadAnswers({ conversationId });
  const conversation = await db.conversation.findFirst({
    where: { id: conversationId, ownerId },
    select: {
      messages: {
        where: { role: "assistant" },
        orderBy: { position: "desc" },
        take: 1,
        select: { id: true, status: true, lastSeq: true, runSeq: true },
      },
    },
  });
  if (!conversation) throw new ChatError("not_found", "This conversation does not exist.", 404);
  const message = conversation.messages[0];
  if (!message) return null;
  const after =
    request.resume?.messageId === message.id
      ? Math.max(request.resume.afterSeq, message.runSeq)
      : message.runSeq;
  if (message.status !== "streaming" && message.lastSeq <= after) return null;

  const stop = new AbortController();
  let endedAndIdle = false;
  async function* frames(): AsyncGenerator<string, void, undefined> {
    const events = eventLogHub().subscribe(chatEventLog, message!.id, after, {
      signal: stop.signal,
      idleMs: FOLLOWER_CHECK_MS,
      onIdle: async () => {
        // Settled just now: its terminal event is on its way.
        if ((await settleDeadAnswers({ messageId: message!.id })).length) return;
        // An ended answer's events were all committed with its status: if a
        // whole idle wait after seeing it ended brought none, they are gone
        // (compacted) and nothing more will come.
        const row = await db.message.findUnique({
          where: { id: message!.id },
          select: { status: true },
        });
        if (row?.status === "streaming") return;
        if (endedAndIdle) stop.abort();
        endedAndIdle = true;
      },
    });
    for await (const event of events) {
      endedAndIdle = false;
      yield sseFrame(event.seq, event.payload);
      if (event.type === "finish") return;
    }
  }
  return sseBody(frames(), { stopWhenGone: stop });
}
