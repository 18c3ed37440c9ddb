/**
 * POST /api/chat: one chat turn, from request to streamed answer.
 *
 * The answer streams as the AI SDK's UI message stream. Its lifecycle is
 * recorded in Postgres (see turns.ts): retried only before the first token
 * (first-token-retry.ts); stopped only by an explicit stop (the upstream call
 * is aborted, the partial kept as "stopped"); a closed tab is not a stop —
 * the server keeps generating and stores the complete answer; a failure after
 * the first token keeps the partial as "interrupted" for Retry or Continue.
 */
import "server-only";
import type { LanguageModelV3 } from "@ai-sdk/provider";
import { convertToModelMessages, streamText, wrapLanguageModel, type ModelMessage } from "ai";
import { randomUUID } from "node:crypto";
import { ownerIdFromHeaders } from "@/lib/auth/owner-cookie";
import { ensureOwner } from "@/lib/auth/owner";
import { continueMessages } from "@/lib/ai/prompts";
import { languageModel, modelInfo } from "@/lib/ai/providers";
import { registerStream, unregisterStream } from "@/lib/chat/active-streams";
import { trimToContextWindow } from "@/lib/chat/context-window";
import { firstTokenRetryMiddleware } from "@/lib/chat/first-token-retry";
import { describeModelError } from "@/lib/chat/model-errors";
import { consumeRateLimit } from "@/lib/chat/rate-limit";
import { ChatError, chatRequestSchema, type ChatMetadata } from "@/lib/chat/schema";
import { uiMessageStreamResponse } from "@/lib/chat/ui-stream-response";
import {
  beginTurn,
  planTurn,
  TurnRecorder,
  validateRequest,
  type TurnPlan,
} from "@/lib/chat/turns";
import { env } from "@/lib/env";
import { logger } from "@/lib/logger";

const SYSTEM_PROMPT =
  "You are Dispatch's assistant. Answer clearly and concisely in Markdown. If you are unsure, say so.";
const CORRELATION_ID = /^[A-Za-z0-9_.:-]{8,64}$/;

/** Phases before the stream starts, as a Server-Timing header (visible in devtools). */
class ServerTiming {
  private last = performance.now();
  private readonly entries: string[] = [];
  mark(name: string) {
    const now = performance.now();
    this.entries.push(`${name};dur=${(now - this.last).toFixed(2)}`);
    this.last = now;
  }
  header() {
    return this.entries.join(", ");
  }
}

function errorResponse(error: ChatError, correlationId: string) {
  const headers: Record<string, string> = { "x-correlation-id": correlationId };
  if (error.retryAfterMs !== undefined)
    headers["retry-after"] = String(Math.ceil(error.retryAfterMs / 1000));
  return Response.json(
    { error: { code: error.code, message: error.message, correlationId } },
    { status: error.status, headers },
  );
}

export async function handleChatRequest(req: Request): Promise<Response> {
  const incoming = req.headers.get("x-correlation-id");
  const correlationId = incoming && CORRELATION_ID.test(incoming) ? incoming : randomUUID();
  const timing = new ServerTiming();
  try {
    const ownerId = await ownerIdFromHeaders(req.headers);
    if (!ownerId)
      throw new ChatError(
        "unauthorized",
        "This browser has no Dispatch identity yet. Reload the page.",
        401,
      );

    const parsed = chatRequestSchema.safeParse(await req.json().catch(() => undefined));
    if (!parsed.success) throw new ChatError("invalid_request", "The chat request is malformed.");
    const request = parsed.data;

    validateRequest(request, env.CHAT_MAX_MESSAGE_CHARS);
    timing.mark("parse");
    const [limit, planned] = await Promise.all([
      ensureOwner(ownerId).then(() =>
        consumeRateLimit(`chat:${ownerId}`, env.CHAT_RATE_LIMIT_PER_MINUTE, 60_000),
      ),
      planTurn(ownerId, request),
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
    return await streamAnswer(planned, correlationId, timing);
  } catch (error) {
    if (error instanceof ChatError) return errorResponse(error, correlationId);
    logger.error("chat.request_failed", { correlationId, error });
    return errorResponse(
      new ChatError("model_error", "The chat request failed.", 500),
      correlationId,
    );
  }
}

/**
 * The model call starts as soon as the history is read; the turn's rows are
 * written meanwhile, under the model's own latency, so persistence adds
 * nothing to the time to first token. Nothing reaches the client before the
 * write succeeded; if it fails, the model call is aborted.
 */
async function streamAnswer(turn: TurnPlan, correlationId: string, timing: ServerTiming) {
  const isContinue = turn.request.action === "continue";
  const modelLabel = modelInfo().label;
  const history = await convertToModelMessages(
    isContinue ? turn.history.slice(0, -1) : turn.history.map(({ id: _id, ...message }) => message),
  );
  const trimmed = trimToContextWindow(history, env.CHAT_CONTEXT_TOKENS);
  const messages: ModelMessage[] = isContinue
    ? continueMessages(trimmed.messages, turn.continuedText)
    : trimmed.messages;
  const system =
    trimmed.dropped > 0
      ? `${SYSTEM_PROMPT}\n(${trimmed.dropped} earlier messages of this conversation were left out to fit the context window.)`
      : SYSTEM_PROMPT;

  const controller = new AbortController();
  const begun = beginTurn(turn, { correlationId, model: modelLabel });
  const recorder = new TurnRecorder(
    turn,
    correlationId,
    begun.then(
      () => true,
      () => false,
    ),
  );
  const log = { correlationId, messageId: turn.assistantMessageId };
  let registered = false;

  const result = streamText({
    model: wrapLanguageModel({
      // NOTE: every provider resolved in lib/ai implements specification v3.
      model: languageModel() as LanguageModelV3,
      middleware: firstTokenRetryMiddleware({
        onRetry: ({ attempt, error, delayMs }) =>
          logger.warn("chat.retry_before_first_token", {
            ...log,
            attempt,
            delayMs,
            error: describeModelError(error),
          }),
        onFirstToken: (attempt) => recorder.setAttempts(attempt),
        coalesceMs: env.CHAT_STREAM_COALESCE_MS,
      }),
    }),
    system,
    messages,
    // Retries are the middleware's: only before the first token.
    maxRetries: 0,
    abortSignal: controller.signal,
    onChunk: ({ chunk }) => {
      if (chunk.type === "text-delta") recorder.delta(chunk.text);
    },
    onFinish: async ({ finishReason }) => {
      // A stream that ended in an error part was recorded by onError.
      if (finishReason === "error") return;
      unregisterStream(turn.conversationId, turn.assistantMessageId);
      await recorder.finish("complete");
      logger.info("chat.turn_completed", log);
    },
    onAbort: async () => {
      if (!registered) return; // the turn was refused before it began
      unregisterStream(turn.conversationId, turn.assistantMessageId);
      await recorder.finish("stopped");
      logger.info("chat.turn_stopped", log);
    },
    onError: async ({ error }) => {
      unregisterStream(turn.conversationId, turn.assistantMessageId);
      const described = describeModelError(error);
      await recorder.finish(recorder.hasText || isContinue ? "interrupted" : "failed", described);
      logger.error("chat.turn_failed", { ...log, code: described.code, error });
    },
  });
  try {
    await begun;
  } catch (error) {
    controller.abort();
    throw error;
  }
  registerStream(turn.conversationId, turn.assistantMessageId, controller);
  registered = true;
  timing.mark("write");
  logger.info("chat.turn_started", {
    ...log,
    conversationId: turn.conversationId,
    action: turn.request.action,
  });

  const metadata: ChatMetadata = { correlationId, model: modelLabel };
  // The answer is generated to the end even if the browser goes away (see ui-stream-response.ts).
  const stream = result.toUIMessageStream({
    originalMessages: turn.history,
    generateMessageId: () => turn.assistantMessageId,
    messageMetadata: ({ part }) => {
      if (part.type === "start") return metadata;
      if (part.type === "finish")
        return { status: part.finishReason === "error" ? "interrupted" : "complete" };
      return undefined;
    },
    onError: (error) => describeModelError(error).message,
  });
  return uiMessageStreamResponse(stream, {
    headers: {
      "x-correlation-id": correlationId,
      "server-timing": timing.header(),
      // NOTE: no-transform keeps compression proxies (and next start's own gzip) from
      // buffering the stream: every token is flushed as it comes.
      "cache-control": "no-cache, no-transform",
    },
  });
}
