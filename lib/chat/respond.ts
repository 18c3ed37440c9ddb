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
import type { LanguageModelV4 } from "@ai-sdk/provider";
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
import {
  ChatError,
  chatRequestSchema,
  type ChatMetadata,
  type ChatRequest,
} from "@/lib/chat/schema";
import { uiMessageStreamResponse } from "@/lib/chat/ui-stream-response";
import {
  beginTurn,
  planTurn,
  TurnRecorder,
  validateRequest,
  type Turn,
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
  note(name: string, description: string) {
    this.entries.push(`${name};desc=${description}`);
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
  let speculative: Answer | undefined;
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
    const assistantMessageId = randomUUID();
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
    return answer.response(timing);
  } catch (error) {
    speculative?.discard();
    if (error instanceof ChatError) return errorResponse(error, correlationId);
    logger.error("chat.request_failed", { correlationId, error });
    return errorResponse(
      new ChatError("model_error", "The chat request failed.", 500),
      correlationId,
    );
  }
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
    eventCount: 0,
  };
}

interface ModelCall {
  system: string;
  messages: ModelMessage[];
}

/** What the model is asked for a turn: the history, trimmed to the context window. */
async function modelCall(turn: Turn, action: ChatRequest["action"]): Promise<ModelCall> {
  const isContinue = action === "continue";
  const history = await convertToModelMessages(
    isContinue ? turn.history.slice(0, -1) : turn.history.map(({ id: _id, ...message }) => message),
  );
  const trimmed = trimToContextWindow(history, env.CHAT_CONTEXT_TOKENS);
  return {
    messages: isContinue
      ? continueMessages(trimmed.messages, turn.continuedText)
      : trimmed.messages,
    system:
      trimmed.dropped > 0
        ? `${SYSTEM_PROMPT}\n(${trimmed.dropped} earlier messages of this conversation were left out to fit the context window.)`
        : SYSTEM_PROMPT,
  };
}

/** The model's input as one comparable string. */
const modelInput = async (turn: Turn, action: ChatRequest["action"]) =>
  JSON.stringify(await modelCall(turn, action));

interface Answer {
  /** See `modelInput`: what this answer's model call was started with. */
  readonly modelInput: string;
  /**
   * Writes the planned turn; the answer streams only once this succeeded.
   * If it fails, the model call is aborted and the error thrown.
   */
  begin(plan: TurnPlan): Promise<void>;
  /** Aborts a model call that will not be used; nothing is recorded. */
  discard(): void;
  response(timing: ServerTiming): Response;
}

/**
 * Starts the model call for a turn. Nothing is recorded and nothing reaches
 * the client until `begin` wrote the turn's rows; the write runs under the
 * model's own latency, so persistence adds nothing to the time to first token.
 */
async function startAnswer(
  turn: Turn,
  action: ChatRequest["action"],
  correlationId: string,
): Promise<Answer> {
  const call = await modelCall(turn, action);
  const isContinue = action === "continue";
  const modelLabel = modelInfo().label;
  const controller = new AbortController();
  let settleBegun!: (begun: boolean) => void;
  const begun = new Promise<boolean>((resolve) => (settleBegun = resolve));
  const recorder = new TurnRecorder(turn, correlationId, begun);
  const log = { correlationId, messageId: turn.assistantMessageId };
  let registered = false;

  const result = streamText({
    model: wrapLanguageModel({
      // NOTE: every provider resolved in lib/ai implements specification v3.
      model: languageModel() as LanguageModelV4,
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
    system: call.system,
    messages: call.messages,
    // Retries are the middleware's: only before the first token.
    maxRetries: 0,
    abortSignal: controller.signal,
    onChunk: ({ chunk }) => {
      if (chunk.type === "text-delta") recorder.delta(chunk.text);
    },
    onFinish: async ({ finishReason }) => {
      // A stream that ended in an error part was recorded by onError.
      if (finishReason === "error" || !registered) return;
      unregisterStream(turn.conversationId, turn.assistantMessageId);
      await recorder.finish("complete");
      logger.info("chat.turn_completed", log);
    },
    onAbort: async () => {
      if (!registered) return; // discarded or refused before it began
      unregisterStream(turn.conversationId, turn.assistantMessageId);
      await recorder.finish("stopped");
      logger.info("chat.turn_stopped", log);
    },
    onError: async ({ error }) => {
      if (!registered) return;
      unregisterStream(turn.conversationId, turn.assistantMessageId);
      const described = describeModelError(error);
      await recorder.finish(recorder.hasText || isContinue ? "interrupted" : "failed", described);
      logger.error("chat.turn_failed", { ...log, code: described.code, error });
    },
  });

  return {
    modelInput: JSON.stringify(call),
    async begin(plan) {
      try {
        await beginTurn(plan, { correlationId, model: modelLabel });
      } catch (error) {
        settleBegun(false);
        controller.abort();
        throw error;
      }
      registerStream(turn.conversationId, turn.assistantMessageId, controller);
      registered = true;
      settleBegun(true);
      logger.info("chat.turn_started", {
        ...log,
        conversationId: turn.conversationId,
        action: plan.request.action,
      });
    },
    discard() {
      settleBegun(false);
      controller.abort();
      // Read what is left so the aborted call settles.
      void result.consumeStream({ onError: () => {} });
    },
    response(timing) {
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
    },
  };
}
