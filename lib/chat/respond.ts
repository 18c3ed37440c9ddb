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
import { beginTurn, TurnRecorder } from "@/lib/chat/turns";
import { env } from "@/lib/env";
import { logger } from "@/lib/logger";

const SYSTEM_PROMPT =
  "You are Dispatch's assistant. Answer clearly and concisely in Markdown. If you are unsure, say so.";
const CORRELATION_ID = /^[A-Za-z0-9_.:-]{8,64}$/;

function errorResponse(error: ChatError, correlationId: string) {
  const headers: Record<string, string> = { "x-correlation-id": correlationId };
  if (error.retryAfterMs !== undefined) headers["retry-after"] = String(Math.ceil(error.retryAfterMs / 1000));
  return Response.json(
    { error: { code: error.code, message: error.message, correlationId } },
    { status: error.status, headers },
  );
}

export async function handleChatRequest(req: Request): Promise<Response> {
  const incoming = req.headers.get("x-correlation-id");
  const correlationId = incoming && CORRELATION_ID.test(incoming) ? incoming : randomUUID();
  try {
    const ownerId = await ownerIdFromHeaders(req.headers);
    if (!ownerId) throw new ChatError("unauthorized", "This browser has no Dispatch identity yet. Reload the page.", 401);

    const parsed = chatRequestSchema.safeParse(await req.json().catch(() => undefined));
    if (!parsed.success) throw new ChatError("invalid_request", "The chat request is malformed.");
    const request = parsed.data;

    await ensureOwner(ownerId);
    const limit = await consumeRateLimit(`chat:${ownerId}`, env.CHAT_RATE_LIMIT_PER_MINUTE, 60_000);
    if (!limit.allowed) {
      const seconds = Math.max(1, Math.ceil(limit.retryAfterMs / 1000));
      throw new ChatError(
        "rate_limited",
        `You are sending messages faster than ${env.CHAT_RATE_LIMIT_PER_MINUTE} a minute. Try again in ${seconds} s.`,
        429,
        limit.retryAfterMs,
      );
    }

    const model = modelInfo();
    const turn = await beginTurn({
      ownerId,
      request,
      correlationId,
      model: model.label,
      maxMessageChars: env.CHAT_MAX_MESSAGE_CHARS,
    });
    logger.info("chat.turn_started", {
      correlationId,
      conversationId: turn.conversationId,
      messageId: turn.assistantMessageId,
      action: request.action,
    });
    return streamAnswer(turn, request.action === "continue", correlationId, model.label);
  } catch (error) {
    if (error instanceof ChatError) return errorResponse(error, correlationId);
    logger.error("chat.request_failed", { correlationId, error });
    return errorResponse(new ChatError("model_error", "The chat request failed.", 500), correlationId);
  }
}

async function streamAnswer(
  turn: Awaited<ReturnType<typeof beginTurn>>,
  isContinue: boolean,
  correlationId: string,
  modelLabel: string,
) {
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

  const recorder = new TurnRecorder(turn, correlationId);
  const controller = registerStream(turn.conversationId, turn.assistantMessageId);
  const log = { correlationId, messageId: turn.assistantMessageId };

  const result = streamText({
    model: wrapLanguageModel({
      // NOTE: every provider resolved in lib/ai implements specification v3.
      model: languageModel() as LanguageModelV3,
      middleware: firstTokenRetryMiddleware({
        onRetry: ({ attempt, error, delayMs }) =>
          logger.warn("chat.retry_before_first_token", { ...log, attempt, delayMs, error: describeModelError(error) }),
        onFirstToken: (attempt) => recorder.setAttempts(attempt),
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
  // The answer is generated to the end even if the browser goes away.
  void result.consumeStream({ onError: () => {} });

  const metadata: ChatMetadata = { correlationId, model: modelLabel };
  return result.toUIMessageStreamResponse({
    headers: { "x-correlation-id": correlationId },
    originalMessages: turn.history,
    generateMessageId: () => turn.assistantMessageId,
    messageMetadata: ({ part }) => {
      if (part.type === "start") return metadata;
      if (part.type === "finish") return { status: part.finishReason === "error" ? "interrupted" : "complete" };
      return undefined;
    },
    onError: (error) => describeModelError(error).message,
  });
}
