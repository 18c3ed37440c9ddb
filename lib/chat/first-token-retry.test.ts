import type { LanguageModelV4StreamPart } from "@ai-sdk/provider";
import { APICallError, streamText, wrapLanguageModel } from "ai";
import { MockLanguageModelV4, simulateReadableStream } from "ai/test";
import { describe, expect, it } from "vitest";
import { firstTokenRetryMiddleware, type RetryAttempt } from "@/lib/chat/first-token-retry";

const policy = { maxRetries: 3, baseDelayMs: 1, maxDelayMs: 2, maxRetryAfterMs: 50 };
const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 2, text: 2, reasoning: 0 },
};

function textParts(words: string[]): LanguageModelV4StreamPart[] {
  return [
    { type: "stream-start", warnings: [] },
    { type: "text-start", id: "t" },
    ...words.map((delta): LanguageModelV4StreamPart => ({ type: "text-delta", id: "t", delta })),
    { type: "text-end", id: "t" },
    { type: "finish", finishReason: { unified: "stop", raw: "stop" }, usage },
  ];
}

/** A stream that yields `parts`, then fails with `error`. */
function failingStream(parts: LanguageModelV4StreamPart[], error: unknown) {
  let index = 0;
  return new ReadableStream<LanguageModelV4StreamPart>({
    pull(controller) {
      if (index < parts.length) controller.enqueue(parts[index++]!);
      else controller.error(error);
    },
  });
}

const status = (code: number) =>
  new APICallError({
    message: `HTTP ${code}`,
    url: "http://model",
    requestBodyValues: {},
    statusCode: code,
  });

function run(attempts: Array<() => ReadableStream<LanguageModelV4StreamPart>>) {
  let call = 0;
  const retries: RetryAttempt[] = [];
  const model = new MockLanguageModelV4({
    doStream: async () => {
      const next = attempts[call++];
      if (!next) throw new Error("no more attempts");
      return { stream: next() };
    },
  });
  const wrapped = wrapLanguageModel({
    model,
    middleware: firstTokenRetryMiddleware({ policy, onRetry: (attempt) => retries.push(attempt) }),
  });
  const errors: unknown[] = [];
  const result = streamText({
    model: wrapped,
    prompt: "hi",
    maxRetries: 0,
    onError: ({ error }) => void errors.push(error),
  });
  return { result, retries, errors, calls: () => call };
}

describe("first-token retry middleware", () => {
  it("retries failures before the first token, invisibly", async () => {
    const { result, retries, calls } = run([
      () => {
        throw status(500);
      },
      () => failingStream([{ type: "stream-start", warnings: [] }], status(503)),
      () => simulateReadableStream({ chunks: textParts(["Hello", " world"]) }),
    ]);
    expect(await result.text).toBe("Hello world");
    expect(calls()).toBe(3);
    expect(retries.map((r) => r.attempt)).toEqual([1, 2]);
  });

  it("treats an error part before the first token as retryable", async () => {
    const { result, calls } = run([
      () =>
        simulateReadableStream({
          chunks: [{ type: "error", error: status(429) } as LanguageModelV4StreamPart],
        }),
      () => simulateReadableStream({ chunks: textParts(["ok"]) }),
    ]);
    expect(await result.text).toBe("ok");
    expect(calls()).toBe(2);
  });

  it("never retries after the first token: the partial text stays and the error surfaces", async () => {
    const dropped = new TypeError("terminated");
    const { result, errors, calls, retries } = run([
      () => failingStream(textParts(["Partial", " answer"]).slice(0, 4), dropped),
      () => simulateReadableStream({ chunks: textParts(["should never be sent"]) }),
    ]);
    const text = await result.text;
    expect(text).toBe("Partial answer");
    expect(calls()).toBe(1);
    expect(retries).toEqual([]);
    expect(errors).toEqual([dropped]);
  });

  it("gives up after the retry budget and does not retry a client error", async () => {
    const budget = run(Array.from({ length: 5 }, () => () => failingStream([], status(502))));
    await budget.result.consumeStream();
    expect(budget.calls()).toBe(policy.maxRetries + 1);
    expect(budget.errors).toHaveLength(1);

    const refused = run([
      () => failingStream([], status(400)),
      () => simulateReadableStream({ chunks: textParts(["x"]) }),
    ]);
    await refused.result.consumeStream();
    expect(refused.calls()).toBe(1);
    expect((refused.errors[0] as APICallError).statusCode).toBe(400);
  });
});

describe("first-token retry middleware: stopping", () => {
  it("treats a stop while waiting for the first token as an abort, not a failure", async () => {
    const abort = new AbortController();
    const model = wrapLanguageModel({
      model: new MockLanguageModelV4({
        // A model that has not said anything yet.
        doStream: async ({ abortSignal }) => ({
          stream: new ReadableStream<LanguageModelV4StreamPart>({
            start(controller) {
              controller.enqueue({ type: "stream-start", warnings: [] });
              abortSignal?.addEventListener("abort", () => controller.error(abortSignal.reason));
            },
          }),
        }),
      }),
      middleware: firstTokenRetryMiddleware({ policy }),
    });
    const errors: unknown[] = [];
    let aborted = false;
    const result = streamText({
      model,
      prompt: "hi",
      maxRetries: 0,
      abortSignal: abort.signal,
      onError: ({ error }) => void errors.push(error),
      onAbort: () => void (aborted = true),
    });
    setTimeout(() => abort.abort(), 20);
    const parts: string[] = [];
    for await (const part of result.fullStream) parts.push(part.type);
    expect(aborted).toBe(true);
    expect(errors).toEqual([]);
    expect(parts).toContain("abort");
    expect(parts).not.toContain("text-delta");
  });
});

describe("text delta coalescing after the first token", () => {
  /** A model whose stream is driven by the test: `push` parts, then `end` or `fail`. */
  function controlledModel(coalesceMs: number) {
    let controller!: ReadableStreamDefaultController<LanguageModelV4StreamPart>;
    const stream = new ReadableStream<LanguageModelV4StreamPart>({
      start: (c) => void (controller = c),
    });
    const model = wrapLanguageModel({
      model: new MockLanguageModelV4({ doStream: async () => ({ stream }) }),
      middleware: firstTokenRetryMiddleware({ policy, coalesceMs }),
    });
    const result = streamText({ model, prompt: "hi", maxRetries: 0, onError: () => {} });
    const deltas: string[] = [];
    const seen: Array<() => void> = [];
    const collected = (async () => {
      for await (const part of result.fullStream) {
        if (part.type === "text-delta") deltas.push(part.text);
        if (part.type === "error") deltas.push(`<error: ${(part.error as Error).message}>`);
        seen.splice(0).forEach((wake) => wake());
      }
    })();
    const push = (...parts: LanguageModelV4StreamPart[]) =>
      parts.forEach((part) => controller.enqueue(part));
    const delta = (delta: string, id = "t"): LanguageModelV4StreamPart => ({
      type: "text-delta",
      id,
      delta,
    });
    /** Resolves once `count` deltas have reached the consumer. */
    const received = async (count: number) => {
      while (deltas.length < count) await new Promise<void>((wake) => seen.push(wake));
    };
    return { push, delta, received, deltas, collected, controller: () => controller };
  }
  const start: LanguageModelV4StreamPart[] = [
    { type: "stream-start", warnings: [] },
    { type: "text-start", id: "t" },
  ];
  const finish = textParts([]).slice(-2);

  it("passes the first token on at once and merges the burst after it, losing nothing", async () => {
    const m = controlledModel(60_000);
    m.push(...start, m.delta("First"));
    await m.received(1);
    expect(m.deltas).toEqual(["First"]);
    m.push(m.delta(" two"), m.delta(" three"), m.delta(" four"), ...finish);
    m.controller().close();
    await m.collected;
    // The end of the stream flushes what was held, without waiting out the window.
    expect(m.deltas).toEqual(["First", " two three four"]);
  });

  it("passes held text on when the window ends, without waiting for more", async () => {
    const m = controlledModel(20);
    m.push(...start, m.delta("a"), m.delta("b"));
    // The stream stays open with nothing more coming: "b" must still arrive.
    await m.received(2);
    expect(m.deltas).toEqual(["a", "b"]);
    m.push(...finish);
    m.controller().close();
    await m.collected;
  });

  it("never merges across text parts and flushes held text before a later error", async () => {
    const delta = (delta: string, id = "t"): LanguageModelV4StreamPart => ({
      type: "text-delta",
      id,
      delta,
    });
    const stream = failingStream(
      [
        ...start,
        delta("x"),
        delta("y"),
        { type: "text-start", id: "u" },
        delta("z", "u"),
        delta("w", "u"),
      ],
      new TypeError("terminated"),
    );
    const model = wrapLanguageModel({
      model: new MockLanguageModelV4({ doStream: async () => ({ stream }) }),
      middleware: firstTokenRetryMiddleware({ policy, coalesceMs: 60_000 }),
    });
    const result = streamText({ model, prompt: "hi", maxRetries: 0, onError: () => {} });
    const seen: string[] = [];
    for await (const part of result.fullStream) {
      if (part.type === "text-delta") seen.push(part.text);
      if (part.type === "error") seen.push(`<error: ${(part.error as Error).message}>`);
    }
    expect(seen).toEqual(["x", "y", "zw", "<error: terminated>"]);
  });

  it("with a window of 0 passes every delta on as it came", async () => {
    const m = controlledModel(0);
    m.push(...start, m.delta("1"), m.delta("2"), m.delta("3"), ...finish);
    m.controller().close();
    await m.collected;
    expect(m.deltas).toEqual(["1", "2", "3"]);
  });
});
