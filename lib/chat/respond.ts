/**
 * One chat turn, from a parsed request to the answer's stream (the HTTP side
 * is app/api/chat/route.ts). The answer is an event log in Postgres (see
 * recorder.ts), followed live by any tab on any instance (follow.ts): it is
 * retried only before the first token (first-token-retry.ts); stopped only by
 * an explicit stop (active-streams.ts); a closed tab is not a stop, the
 * server keeps generating and stores the complete answer; a failure after
 * the first token keeps the partial as "interrupted" for Retry or Continue.
 */
import "server-only";
import { randomUUID } from "node:crypto";
import { ensureOwner } from "@/lib/auth/owner";
import { modelInput, startAnswer, type Answer } from "@/lib/chat/answer";
import type { Turn } from "@/lib/chat/plan";
import { validateRequest } from "@/lib/chat/plan";
import { consumeRateLimit } from "@/lib/chat/rate-limit";
import { ChatError, type ChatRequest } from "@/lib/chat/schema";
import { sseBody } from "@/lib/chat/sse";
import { planTurn } from "@/lib/chat/store";
import { env } from "@/lib/env";
import { logger } from "@/lib/logger";

/** Where the route records the turn's phases before its stream starts (Server-Timing). */
export interface PhaseTimer {
  mark(name: string): void;
  note(name: string, description: string): void;
}

/** The turn as the browser sees it: its history plus the new message. */
function speculativeTurn(request: ChatRequest, assistantMessageId: string): Turn | undefined {
  if (request.action !== "submit" || !request.history) return undefined;
  return {
    conversationId: request.conversationId,
    assistantMessageId,
    history: [
      ...request.history,
      { id: request.message.id, role: "user", parts: request.message.parts },
    ],
    continuedText: "",
    lastSeq: 0,
  };
}

/**
 * Runs a turn for its owner: checks, rate limit, the model call, the writes.
 * Returns the answer's SSE body; throws ChatError when the turn is refused.
 */
export async function respondToChat(options: {
  ownerId: string;
  request: ChatRequest;
  correlationId: string;
  timing: PhaseTimer;
}): Promise<ReadableStream<Uint8Array>> {
  const { ownerId, request, correlationId, timing } = options;
  validateRequest(request, env.CHAT_MAX_MESSAGE_CHARS);
  const assistantMessageId = randomUUID();
  let speculative: Answer | undefined;
  try {
    // A new message with the history the browser shows: the model call starts
    // now, on that history, while the conversation is read. It is kept only if
    // the stored history gives the model exactly the same input.
    const guess = speculativeTurn(request, assistantMessageId);
    if (guess) speculative = await startAnswer(guess, "submit", correlationId);

    const [limit, planned] = await Promise.all([
      ensureOwner(ownerId).then(() =>
        consumeRateLimit(`chat:${ownerId}`, env.CHAT_RATE_LIMIT_PER_MINUTE, 60_000),
      ),
      planTurn(ownerId, request, assistantMessageId),
    ]);
    timing.mark("read");
    if (!limit.allowed) {
      const seconds = Math.max(1, Math.ceil(limit.retryAfterMs / 1000));
      throw new ChatError(
        "rate_limited",
        `You are sending messages faster than ${env.CHAT_RATE_LIMIT_PER_MINUTE} a minute. Try again in ${seconds} s.`,
        429,
        limit.retryAfterMs,
      );
    }
    let answer = speculative;
    if (!answer || answer.modelInput !== (await modelInput(planned, request.action))) {
      speculative?.discard();
      if (speculative) logger.info("chat.speculation_missed", { correlationId });
      answer = await startAnswer(planned, request.action, correlationId);
    }
    if (guess) timing.note("speculation", answer === speculative ? "hit" : "miss");
    speculative = undefined;
    await answer.begin(planned);
    timing.mark("write");
    // The answer is generated to the end even if the browser goes away.
    return sseBody(answer.frames());
  } catch (error) {
    speculative?.discard();
    throw error;
  }
}
