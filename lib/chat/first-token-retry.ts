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
import type { LanguageModelV4Middleware, LanguageModelV4StreamPart } from "@ai-sdk/provider";
import { defaultRetryPolicy, retryDelay, type RetryPolicy } from "@/lib/chat/retry-policy";

const FIRST_TOKEN_PARTS = new Set<LanguageModelV4StreamPart["type"]>([
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

type Part = LanguageModelV4StreamPart;
type TextDelta = Extract<Part, { type: "text-delta" }>;

/**
 * Merges text deltas that arrive within `coalesceMs` of the last one passed
 * on; `flush` passes on what is held. Text is never reordered or dropped.
 */
class DeltaCoalescer {
  private pending: TextDelta | undefined;
  private lastPassedOn = -Infinity;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly output: ReadableStreamDefaultController<Part>,
    private readonly coalesceMs: number,
  ) {}

  /** Takes one part; true when something was passed on. */
  accept(part: Part): boolean {
    if (part.type !== "text-delta" || this.coalesceMs <= 0 || part.providerMetadata) {
      this.flush();
      this.output.enqueue(part);
      if (part.type === "text-delta") this.lastPassedOn = performance.now();
      return true;
    }
    if (this.pending && this.pending.id !== part.id) this.flush();
    this.pending = this.pending
      ? { ...this.pending, delta: this.pending.delta + part.delta }
      : part;
    const wait = this.lastPassedOn + this.coalesceMs - performance.now();
    if (wait <= 0) {
      this.flush();
      return true;
    }
    this.timer ??= setTimeout(() => this.flush(), wait);
    return false;
  }

  flush() {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending) return;
    this.output.enqueue(this.pending);
    this.pending = undefined;
    this.lastPassedOn = performance.now();
  }

  discard() {
    clearTimeout(this.timer);
    this.pending = undefined;
  }
}

export function firstTokenRetryMiddleware(
  options: FirstTokenRetryOptions = {},
): LanguageModelV4Middleware {
  const policy = options.policy ?? defaultRetryPolicy;
  const coalesceMs = options.coalesceMs ?? 0;
  return {
    specificationVersion: "v4",
    // NOTE: the stream is returned at once and the call (and its retries)
    // happen inside it, so the SDK sets its pipeline up while the model is
    // still thinking rather than when the first token arrives. The provider's
    // request and response metadata are therefore not passed on.
    async wrapStream({ doStream, params }) {
      const signal = params.abortSignal;
      let attempt = 1;
      let call = Promise.resolve(doStream());
      call.catch(() => {}); // handled when the stream is read
      let reader: ReadableStreamDefaultReader<Part> | undefined;
      let coalescer!: DeltaCoalescer;
      let streaming = false;
      const buffered: Part[] = [];

      /** Reads until the first token; a failure before it is retried while the policy allows. */
      const untilFirstToken = async (controller: ReadableStreamDefaultController<Part>) => {
        for (;;) {
          try {
            reader ??= (await call).stream.getReader();
            const { done, value } = await reader.read();
            if (done) break;
            if (value.type === "error") throw value.error;
            buffered.push(value);
            if (FIRST_TOKEN_PARTS.has(value.type)) break;
          } catch (error) {
            reader?.cancel().catch(() => {});
            reader = undefined;
            buffered.length = 0;
            if (signal?.aborted) throw signal.reason;
            const delayMs = retryDelay(error, attempt - 1, policy, options.random);
            if (delayMs === null) {
              controller.enqueue({ type: "error", error });
              controller.close();
              return false;
            }
            options.onRetry?.({ attempt, error, delayMs });
            await sleep(delayMs, signal);
            attempt += 1;
            call = Promise.resolve(doStream());
            call.catch(() => {});
          }
        }
        options.onFirstToken?.(attempt);
        streaming = true;
        for (const part of buffered.splice(0)) coalescer.accept(part);
        return true;
      };

      const stream = new ReadableStream<Part>({
        start(controller) {
          coalescer = new DeltaCoalescer(controller, coalesceMs);
        },
        async pull(controller) {
          if (!streaming && !(await untilFirstToken(controller))) return;
          try {
            for (;;) {
              const { done, value } = await reader!.read();
              if (done) {
                coalescer.flush();
                controller.close();
                return;
              }
              if (coalescer.accept(value)) return;
            }
          } catch (error) {
            // A failure after the first token (e.g. the connection dropped) ends
            // the stream as an error part, so the caller records what arrived
            // instead of the whole response breaking.
            coalescer.flush();
            if (signal?.aborted) return controller.error(signal.reason);
            controller.enqueue({ type: "error", error });
            controller.close();
          }
        },
        cancel(reason) {
          coalescer.discard();
          return reader?.cancel(reason);
        },
      });
      return { stream };
    },
  };
}
