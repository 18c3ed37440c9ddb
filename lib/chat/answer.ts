/**
 * The model call of a chat turn, and the answer it streams. The call starts
 * before anything is recorded; nothing is logged and nothing reaches the
 * client until `begin` wrote the turn's rows, so the write runs under the
 * model's own latency and persistence adds nothing to the time to first token.
 *
 * The answer's frames come from the SDK's UI message stream, each logged by
 * the recorder, and end with one terminal `finish` chunk saying how it
 * ended: complete; stopped (an explicit stop aborted the call); interrupted
 * (it broke after its first token, or its lease was lost); failed (it broke
 * before any token, after the retries lib/chat/first-token-retry.ts allows).
 * The SDK's own `error`/`abort`/`finish` chunks are replaced by that one, so
 * the message's metadata is the browser's single record of its state.
 */
import "server-only";
import type { LanguageModelV4 } from "@ai-sdk/provider";
import {
  convertToModelMessages,
  experimental_streamTextLowMemory as streamTextLowMemory,
  wrapLanguageModel,
  type ModelMessage,
} from "ai";
import { continueMessages } from "@/lib/ai/prompts";
import { languageModel, modelInfo } from "@/lib/ai/providers";
import { registerStream, unregisterStream } from "@/lib/chat/active-streams";
import { trimToContextWindow } from "@/lib/chat/context-window";
import { compactFinishedAnswers } from "@/lib/chat/event-log";
import { firstTokenRetryMiddleware } from "@/lib/chat/first-token-retry";
import { LOST_SERVER_MESSAGE } from "@/lib/chat/liveness";
import { describeModelError } from "@/lib/chat/model-errors";
import type { Turn, TurnPlan } from "@/lib/chat/plan";
import { AnswerRecorder, type EndStatus } from "@/lib/chat/recorder";
import type { ChatMetadata, ChatRequest } from "@/lib/chat/schema";
import { beginTurn } from "@/lib/chat/store";
import { env } from "@/lib/env";
import { logger } from "@/lib/logger";

const SYSTEM_PROMPT =
  "You are Dispatch's assistant. Answer clearly and concisely in Markdown. If you are unsure, say so.";

interface ModelCall {
  instructions: string;
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
    instructions:
      trimmed.dropped > 0
        ? `${SYSTEM_PROMPT}\n(${trimmed.dropped} earlier messages of this conversation were left out to fit the context window.)`
        : SYSTEM_PROMPT,
  };
}

/** The model's input as one comparable string. */
export const modelInput = async (turn: Turn, action: ChatRequest["action"]) =>
  JSON.stringify(await modelCall(turn, action));

export interface Answer {
  /** See `modelInput`: what this answer's model call was started with. */
  readonly modelInput: string;
  /**
   * Writes the planned turn; the answer streams only once this succeeded.
   * If it fails, the model call is aborted and the error thrown.
   */
  begin(plan: TurnPlan): Promise<void>;
  /** Aborts a model call that will not be used; nothing is recorded. */
  discard(): void;
  /** The answer's SSE frames, ending with its terminal `finish` chunk. */
  frames(): AsyncGenerator<string, void, undefined>;
}

/** Starts the model call for a turn (see the module header). */
export async function startAnswer(
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
  const log = { correlationId, messageId: turn.assistantMessageId };
  const recorder = new AnswerRecorder(turn, correlationId, begun, () => {
    logger.warn("chat.lease_lost", log);
    controller.abort(new DOMException("The answer's lease was lost", "AbortError"));
  });
  let lastError: unknown;

  // NOTE: the low-memory variant keeps no replay buffer and, with no
  // onFinish/onChunk callbacks, no copy of the answer: the recorder keeps the
  // one copy it needs. It is what the per-token cost measured in bench/chat.ts needs.
  const result = streamTextLowMemory({
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
    instructions: call.instructions,
    messages: call.messages,
    // Retries are the middleware's: only before the first token.
    maxRetries: 0,
    abortSignal: controller.signal,
    // The error reaches the stream as an error chunk; here it is only kept for its description.
    onError: ({ error }) => {
      lastError = error;
    },
  });

  async function* frames(): AsyncGenerator<string, void, undefined> {
    const metadata: ChatMetadata = { correlationId, model: modelLabel };
    let failed = false;
    let aborted = false;
    try {
      const chunks = result.toUIMessageStream({
        originalMessages: turn.history,
        generateMessageId: () => turn.assistantMessageId,
        messageMetadata: ({ part }) => (part.type === "start" ? metadata : undefined),
        onError: (error) => {
          lastError ??= error;
          return describeModelError(error).message;
        },
        sendFinish: false,
      });
      for await (const chunk of chunks) {
        if (chunk.type === "error") failed = true;
        else if (chunk.type === "abort") aborted = true;
        else yield recorder.chunk(chunk);
      }
    } catch (error) {
      if (controller.signal.aborted) aborted = true;
      else {
        failed = true;
        lastError ??= error;
      }
    }
    unregisterStream(turn.conversationId, turn.assistantMessageId);
    let status: EndStatus = "complete";
    let error: { code: string; message: string } | undefined;
    if (recorder.isLost) {
      status = "interrupted";
      error = { code: "connection_lost", message: LOST_SERVER_MESSAGE };
    } else if (aborted || controller.signal.aborted) {
      status = "stopped";
    } else if (failed) {
      status = recorder.hasText || isContinue ? "interrupted" : "failed";
      error = describeModelError(lastError);
      logger.error("chat.turn_failed", { ...log, code: error.code, error: lastError });
    }
    yield await recorder.finish(status, error);
    logger.info(`chat.turn_${status}`, log);
    compactFinishedAnswers().catch((compactError: unknown) =>
      logger.warn("chat.compaction_failed", { error: compactError }),
    );
  }

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
    frames,
  };
}
