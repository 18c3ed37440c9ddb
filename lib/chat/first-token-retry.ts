/**
 * The stream checkpoint rule as a language-model middleware: a streamed call
 * is retried only before its first token. Until then nothing has reached the
 * user, so a transient failure (HTTP 429/5xx, a refused or dropped
 * connection, an error event) is retried with backoff and nobody notices.
 * From the first token on, the stream is passed through untouched and any
 * failure surfaces to the caller, which keeps the partial answer and says
 * what happened; it is never silently re-emitted.
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

/** Reads until the first token; throws if the stream fails before it. */
async function untilFirstToken(
  result: LanguageModelV3StreamResult,
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
  const stream = new ReadableStream<LanguageModelV3StreamPart>({
    start(controller) {
      for (const part of buffered) controller.enqueue(part);
    },
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        // A failure after the first token (e.g. the connection dropped) ends
        // the stream as an error part, so the caller records what arrived
        // instead of the whole response breaking.
        controller.enqueue({ type: "error", error });
        controller.close();
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { ...result, stream };
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
          const result = await untilFirstToken(await doStream());
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
