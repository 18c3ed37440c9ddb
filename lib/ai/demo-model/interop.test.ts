import { APICallError, generateText, Output, streamText } from "ai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveModel } from "@/lib/ai/models";
import { composeReply } from "@/lib/ai/demo-model/compose";
import { DEMO_MODEL_ID } from "@/lib/ai/demo-model/protocol";
import { startDemoModel, type DemoModelServer } from "@/lib/ai/demo-model/server";
import { streamTokens } from "@/lib/ai/demo-model/text";
import { parseSubQuestions, planSubQuestionsPrompt, summarizePrompt } from "@/lib/ai/prompts";
import { z } from "zod";
import { noProviderConfig } from "@/test/model-config";

const QUESTION = "What should happen when a stream breaks halfway?";
const EXPECTED = composeReply([{ role: "user", content: QUESTION }]).text;

let server: DemoModelServer;
beforeAll(async () => {
  server = await startDemoModel({ ttftMs: 0, tokensPerSecond: 0 });
});
afterAll(async () => {
  await server.stop();
});

describe("the official openai client", () => {
  function client(maxRetries = 0) {
    return new OpenAI({ apiKey: "not-needed", baseURL: server.url, maxRetries });
  }

  it("lists models", async () => {
    const models = await client().models.list();
    expect(models.data.map((model) => model.id)).toEqual([DEMO_MODEL_ID]);
  });

  it("streams a completion with usage", async () => {
    const stream = await client().chat.completions.create({
      model: DEMO_MODEL_ID,
      messages: [{ role: "user", content: QUESTION }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let finishReason: string | null = null;
    let completionTokens = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
      completionTokens = chunk.usage?.completion_tokens ?? completionTokens;
    }
    expect(text).toBe(EXPECTED);
    expect(finishReason).toBe("stop");
    expect(completionTokens).toBe(streamTokens(EXPECTED).length);
  });

  it("gets a whole completion", async () => {
    const completion = await client().chat.completions.create({
      model: DEMO_MODEL_ID,
      messages: [{ role: "user", content: QUESTION }],
    });
    expect(completion.choices[0]?.message.content).toBe(EXPECTED);
  });

  it("sees injected errors as typed API errors, and retries past the first K", async () => {
    await expect(
      client().chat.completions.create({
        model: DEMO_MODEL_ID,
        messages: [{ role: "user", content: `${QUESTION} [[demo:fail-429]]` }],
      }),
    ).rejects.toBeInstanceOf(OpenAI.RateLimitError);

    const recovered = await client(2).chat.completions.create({
      model: DEMO_MODEL_ID,
      messages: [{ role: "user", content: `${QUESTION} [[demo:fail-500-times=2]]` }],
    });
    expect(recovered.choices[0]?.message.content).toBe(EXPECTED);
  });

  it("reports a dropped stream as an error after the tokens that arrived", async () => {
    const stream = await client().chat.completions.create({
      model: DEMO_MODEL_ID,
      messages: [{ role: "user", content: `${QUESTION} [[demo:drop-after=5]]` }],
      stream: true,
    });
    let text = "";
    await expect(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
      })(),
    ).rejects.toThrow();
    expect(text).toBe(streamTokens(EXPECTED).slice(0, 5).join(""));
  });
});

describe("the AI SDK through @ai-sdk/openai-compatible", () => {
  function demoModel() {
    const { model, selection } = resolveModel(noProviderConfig(server.url));
    expect(selection.isDemo).toBe(true);
    return model;
  }

  it("streams text with streamText", async () => {
    const result = streamText({ model: demoModel(), prompt: QUESTION, maxRetries: 0 });
    const deltas: string[] = [];
    for await (const delta of result.textStream) deltas.push(delta);
    expect(deltas.join("")).toBe(EXPECTED);
    expect(deltas.length).toBeGreaterThan(10);
    expect(await result.finishReason).toBe("stop");
    expect((await result.usage).outputTokens).toBe(streamTokens(EXPECTED).length);
  });

  it("summarises with generateText and the shared prompt format", async () => {
    const text = [
      "Streams are numbered sequences of events.",
      "Each event in a stream is stored with its sequence number.",
      "Lunch was late today.",
      "A client that reconnects asks for the events after the last sequence number it saw.",
    ].join(" ");
    const { text: summary } = await generateText({
      model: demoModel(),
      ...summarizePrompt({ text, maxSentences: 2 }),
      maxRetries: 0,
    });
    expect(summary).not.toContain("Lunch");
    for (const sentence of summary.split(/(?<=\.) /)) expect(text).toContain(sentence);
  });

  it("plans sub-questions as plain text and as a structured object", async () => {
    const question =
      "How do PostgreSQL advisory locks compare with row-level locks for job queues?";
    const { text } = await generateText({
      model: demoModel(),
      ...planSubQuestionsPrompt({ question, count: 3 }),
      maxRetries: 0,
    });
    const plain = parseSubQuestions(text);
    expect(plain).toHaveLength(3);

    const schema = z.object({ subQuestions: z.array(z.string()).min(2).max(5) });
    const { output } = await generateText({
      model: demoModel(),
      ...planSubQuestionsPrompt({ question, count: 3 }),
      output: Output.object({ schema }),
      maxRetries: 0,
    });
    expect(output.subQuestions).toEqual(plain);
  });

  it("surfaces an injected 500 as an error part, and a mid-stream drop after the text that arrived", async () => {
    const failed = streamText({
      model: demoModel(),
      prompt: QUESTION,
      maxRetries: 0,
      headers: { "x-demo-fault": "fail-500" },
      onError: () => {},
    });
    const failedParts = [];
    for await (const part of failed.fullStream) failedParts.push(part.type);
    expect(failedParts).toContain("error");
    expect(failedParts).not.toContain("text-delta");

    const dropped = streamText({
      model: demoModel(),
      prompt: `${QUESTION} [[demo:drop-after=8]]`,
      maxRetries: 0,
      onError: () => {},
    });
    let text = "";
    let error: unknown;
    // NOTE: a connection that breaks mid-stream makes the stream itself throw
    // (APICallError "Failed to process successful response", cause "terminated").
    try {
      for await (const part of dropped.fullStream) {
        if (part.type === "text-delta") text += part.text;
        if (part.type === "error") error = part.error;
      }
    } catch (thrown) {
      error = thrown;
    }
    expect(APICallError.isInstance(error)).toBe(true);
    expect(text).toBe(streamTokens(EXPECTED).slice(0, 8).join(""));
  });

  it("stops the server's generation when the caller aborts", async () => {
    const controller = new AbortController();
    const before = server.stats();
    const result = streamText({
      model: demoModel(),
      prompt: QUESTION,
      maxRetries: 0,
      headers: { "x-demo-tokens-per-second": "20" },
      abortSignal: controller.signal,
      onError: () => {},
    });
    let deltas = 0;
    for await (const part of result.fullStream) {
      if (part.type === "text-delta" && ++deltas === 2) controller.abort();
    }
    await expect
      .poll(() => server.stats().outcomes.aborted, { timeout: 20_000 })
      .toBe(before.outcomes.aborted + 1);
    expect(server.stats().activeRequests).toBe(0);
  });
});
