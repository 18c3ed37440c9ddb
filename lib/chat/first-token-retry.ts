/**
 * The stream checkpoint rule as a language-model middleware: a streamed call
 * is retried only before its first token. Until then nothing has reached the
 * user, so a transient failure (HTTP 429/5xx, a refused or dropped
 * connection, an error event) is retried with backoff and nobody notices.
 * From the first token on, the stream is passed through untouched and any
 * failure surfaces to the caller, which keeps the partial answer and says
 * what happened; it is never silently re-emitted.
 *
 * After the first token it can also merge text deltas that arrive within a
 * short window into one (`coalesceMs`): the first token is never held back,
 * but every later stage (the AI SDK's stream pipeline, the SSE encoding, the
 * socket writes) handles fewer, larger events. At 50 concurrent streams that
 * is most of a chat server's CPU (see bench/chat.ts).
 */
import type {
  LanguageModelV3Middleware,
  LanguageModelV3StreamPart,
  LanguageModelV3StreamResult,
} from "@ai-sdk/provider";
import { defaultRetryPolicy, retryDelay, type RetryPolicy } from "@/lib/chat/retry-policy";

const FIRST_TOKEN_PARTS = new Set<LanguageModelV3StreamPart["type"]>([
  "text-delta",
  "reasoning-delta",
  "tool-input-start",
  "tool-call",
  "file",
  "source",
  "finish",
]);

export interface RetryAttempt {
  /** 1-based attempt that failed. */
  attempt: number;
  error: unknown;
  delayMs: number;
}

export interface FirstTokenRetryOptions {
  policy?: RetryPolicy;
  onRetry?: (attempt: RetryAttempt) => void;
  /** Called once with the attempt number that produced the first token. */
  onFirstToken?: (attempt: number) => void;
  /**
   * Text deltas arriving less than this many ms after the last one passed on
   * are merged into the next (0: every delta as it comes). Text is only ever
   * delayed, by at most this window, never dropped or reordered.
   */
  coalesceMs?: number;
  random?: () => number;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

type TextDelta = Extract<LanguageModelV3StreamPart, { type: "text-delta" }>;

/** Reads until the first token; throws if the stream fails before it. */
async function untilFirstToken(
  result: LanguageModelV3StreamResult,
  coalesceMs: number,
): Promise<LanguageModelV3StreamResult> {
  const reader = result.stream.getReader();
  const buffered: LanguageModelV3StreamPart[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value.type === "error") throw value.error;
      buffered.push(value);
      if (FIRST_TOKEN_PARTS.has(value.type)) break;
    }
  } catch (error) {
    reader.cancel().catch(() => {});
    throw error;
  }
  return { ...result, stream: forward(reader, buffered, coalesceMs) };
}

/**
 * The stream from the first token on: what was read so far, then the rest,
 * with text deltas merged within `coalesceMs` of the last one passed on.
 */
function forward(
  reader: ReadableStreamDefaultReader<LanguageModelV3StreamPart>,
  buffered: LanguageModelV3StreamPart[],
  coalesceMs: number,
): ReadableStream<LanguageModelV3StreamPart> {
  let output!: ReadableStreamDefaultController<LanguageModelV3StreamPart>;
  let pending: TextDelta | undefined;
  let lastPassedOn = -Infinity;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (!pending) return;
    output.enqueue(pending);
    pending = undefined;
    lastPassedOn = performance.now();
  };
  /** Takes one part; true when something was passed on. */
  const accept = (part: LanguageModelV3StreamPart): boolean => {
    if (part.type !== "text-delta" || coalesceMs <= 0 || part.providerMetadata) {
      flush();
      output.enqueue(part);
      if (part.type === "text-delta") lastPassedOn = performance.now();
      return true;
    }
    if (pending && pending.id !== part.id) flush();
    pending = pending ? { ...pending, delta: pending.delta + part.delta } : part;
    const wait = lastPassedOn + coalesceMs - performance.now();
    if (wait <= 0) {
      flush();
      return true;
    }
    timer ??= setTimeout(flush, wait);
    return false;
  };

  return new ReadableStream<LanguageModelV3StreamPart>({
    start(controller) {
      output = controller;
      for (const part of buffered) accept(part);
    },
    async pull(controller) {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) {
            flush();
            controller.close();
            return;
          }
          if (accept(value)) return;
        }
      } catch (error) {
        // A failure after the first token (e.g. the connection dropped) ends
        // the stream as an error part, so the caller records what arrived
        // instead of the whole response breaking.
        flush();
        controller.enqueue({ type: "error", error });
        controller.close();
      }
    },
    cancel(reason) {
      clearTimeout(timer);
      pending = undefined;
      return reader.cancel(reason);
    },
  });
}

export function firstTokenRetryMiddleware(
  options: FirstTokenRetryOptions = {},
): LanguageModelV3Middleware {
  const policy = options.policy ?? defaultRetryPolicy;
  return {
    specificationVersion: "v3",
    async wrapStream({ doStream, params }) {
      for (let attempt = 1; ; attempt++) {
        try {
          const result = await untilFirstToken(await doStream(), options.coalesceMs ?? 0);
          options.onFirstToken?.(attempt);
          return result;
        } catch (error) {
          if (params.abortSignal?.aborted) throw error;
          const delayMs = retryDelay(error, attempt - 1, policy, options.random);
          if (delayMs === null) throw error;
          options.onRetry?.({ attempt, error, delayMs });
          await sleep(delayMs, params.abortSignal);
        }
      }
    },
  };
}
