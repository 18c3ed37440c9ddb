import type { LanguageModelV3StreamPart } from "@ai-sdk/provider";
import { APICallError, streamText, wrapLanguageModel } from "ai";
import { MockLanguageModelV3, simulateReadableStream } from "ai/test";
import { describe, expect, it } from "vitest";
import { firstTokenRetryMiddleware, type RetryAttempt } from "@/lib/chat/first-token-retry";

const policy = { maxRetries: 3, baseDelayMs: 1, maxDelayMs: 2, maxRetryAfterMs: 50 };
const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 2, text: 2, reasoning: 0 },
};

function textParts(words: string[]): LanguageModelV3StreamPart[] {
  return [
    { type: "stream-start", warnings: [] },
    { type: "text-start", id: "t" },
    ...words.map((delta): LanguageModelV3StreamPart => ({ type: "text-delta", id: "t", delta })),
    { type: "text-end", id: "t" },
    { type: "finish", finishReason: { unified: "stop", raw: "stop" }, usage },
  ];
}

/** A stream that yields `parts`, then fails with `error`. */
function failingStream(parts: LanguageModelV3StreamPart[], error: unknown) {
  let index = 0;
  return new ReadableStream<LanguageModelV3StreamPart>({
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

function run(attempts: Array<() => ReadableStream<LanguageModelV3StreamPart>>) {
  let call = 0;
  const retries: RetryAttempt[] = [];
  const model = new MockLanguageModelV3({
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
          chunks: [{ type: "error", error: status(429) } as LanguageModelV3StreamPart],
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
