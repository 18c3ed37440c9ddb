import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { resolveBatchClient } from "@/lib/ai/batch/resolve";
import {
  BatchError,
  batchHandleSchema,
  batchStatusSchema,
  collectResults,
  isFinalBatchState,
  type BatchClient,
  type BatchHandle,
  type BatchItem,
  type BatchStatus,
} from "@/lib/ai/batch/types";
import { composeReply } from "@/lib/ai/demo-model/compose";
import { startDemoModel, type DemoModelServer } from "@/lib/ai/demo-model/server";
import { streamTokens } from "@/lib/ai/demo-model/text";
import type { ModelConfig } from "@/lib/ai/models";
import { summarizePrompt } from "@/lib/ai/prompts";
import { noProviderConfig } from "@/test/model-config";

const DOCUMENTS = [
  "Batch APIs take many requests at once. They answer within a day. They cost half as much as live calls. Lunch was late.",
  "A durable step runs once. Its output is stored. A retried function replays stored outputs instead of running steps again.",
  "Polling with backoff holds no connection. Each poll is a short request. The job sleeps between polls.",
];

function demoConfig(url: string): ModelConfig {
  return noProviderConfig(url);
}

function summaryItem(customId: string, text: string): BatchItem {
  const { instructions: system, messages } = summarizePrompt({ text, maxSentences: 2 });
  return {
    customId,
    system,
    messages: messages.map((message) => ({
      role: message.role as "user",
      content: message.content as string,
    })),
  };
}

/** What a job does across steps: every call gets the handle back from JSON, as a step output would. */
function throughJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

async function pollUntilFinal(client: BatchClient, handle: BatchHandle): Promise<BatchStatus[]> {
  const seen: BatchStatus[] = [];
  // A deadline, not a count of polls: on a loaded machine each poll takes longer.
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    const status = batchStatusSchema.parse(throughJson(await client.poll(throughJson(handle))));
    seen.push(status);
    if (isFinalBatchState(status.state)) return seen;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("the batch never ended");
}

let server: DemoModelServer;
let client: BatchClient;
beforeAll(async () => {
  server = await startDemoModel({ batch: { delayMs: 100, rowsPerSecond: 100 } });
  client = resolveBatchClient(demoConfig(server.url), { maxRetries: 0 });
});
afterAll(async () => {
  await server.stop();
});

describe("the OpenAI batch client against the demo model's Batch API", () => {
  it("submits, polls through queued and in_progress to completed, and maps results by custom id", async () => {
    const items = DOCUMENTS.map((text, index) => summaryItem(`doc-${index}`, text));
    const handle = batchHandleSchema.parse(
      throughJson(await client.submit(items, { key: "happy-path" })),
    );
    expect(handle).toMatchObject({ provider: "demo", modelId: "dispatch-demo", itemCount: 3 });

    const statuses = await pollUntilFinal(client, handle);
    const states = statuses.map((status) => status.state);
    expect(states[0]).toBe("queued");
    expect(states.at(-1)).toBe("completed");
    expect(statuses.at(-1)).toMatchObject({ total: 3, done: 3, succeeded: 3, failed: 0 });
    expect(statuses.at(-1)!.startedAt).not.toBeNull();

    const results = await collectResults(client, throughJson(handle), ["doc-2", "doc-0", "doc-1"]);
    for (const [index, text] of DOCUMENTS.entries()) {
      const result = results.get(`doc-${index}`)!;
      const { instructions: system, messages } = summarizePrompt({ text, maxSentences: 2 });
      const expected = composeReply([
        { role: "system", content: system },
        { role: "user", content: messages[0]!.content as string },
      ]).text;
      expect(result).toMatchObject({ ok: true, text: expected, finishReason: "stop" });
      if (!result.ok) throw new Error("unreachable");
      expect(result.text).not.toContain("Lunch");
      expect(result.usage.outputTokens).toBe(streamTokens(expected).length);
      expect(result.usage.inputTokens).toBeGreaterThan(10);
    }
  });

  it("returns the same batch when a submit with the same key is retried", async () => {
    const items = [summaryItem("a", DOCUMENTS[0]!)];
    const first = await client.submit(items, { key: "retried-step" });
    const second = await client.submit(items, { key: "retried-step" });
    expect(second.batchId).toBe(first.batchId);
    const other = await client.submit(items, { key: "another-step" });
    expect(other.batchId).not.toBe(first.batchId);
  });

  it("reports failed rows per item, retryable, and items with no result line as missing", async () => {
    const items = [
      summaryItem("good", DOCUMENTS[0]!),
      {
        customId: "bad",
        messages: [{ role: "user" as const, content: "Hello [[demo:fail-500]]" }],
      },
      { customId: "slow", messages: [{ role: "user" as const, content: "Hi [[demo:fail-429]]" }] },
    ];
    const handle = await client.submit(items, { key: "partial-failure" });
    const final = (await pollUntilFinal(client, handle)).at(-1)!;
    expect(final).toMatchObject({ state: "completed", succeeded: 1, failed: 2 });
    const results = await collectResults(client, handle, ["good", "bad", "slow", "never-sent"]);
    expect(results.get("good")!.ok).toBe(true);
    expect(results.get("bad")).toMatchObject({
      ok: false,
      error: { code: "server_error", retryable: true },
    });
    expect(results.get("slow")).toMatchObject({ ok: false, error: { code: "rate_limited" } });
    expect(results.get("never-sent")).toMatchObject({ ok: false, error: { code: "missing" } });
  });

  it("reports an expired batch, with the unfinished items expired and retryable", async () => {
    const items = DOCUMENTS.map((text, index) => summaryItem(`e${index}`, text));
    items[0]!.messages[0]!.content += " [[demo:batch-expire after=1]]";
    const handle = await client.submit(items, { key: "expiring" });
    const final = (await pollUntilFinal(client, handle)).at(-1)!;
    expect(final).toMatchObject({ state: "expired", succeeded: 1, total: 3 });
    expect(final.endedAt).not.toBeNull();
    const results = await collectResults(client, handle, ["e0", "e1", "e2"]);
    expect(results.get("e0")!.ok).toBe(true);
    expect(results.get("e1")).toMatchObject({ error: { code: "expired", retryable: true } });
    expect(results.get("e2")).toMatchObject({ error: { code: "expired" } });
  });

  it("cancels a running batch, and returns an ended batch as it is", async () => {
    // NOTE: paced to take 10 s, so a stall of the test process (a loaded
    // machine) between the first row and the cancel cannot let it finish.
    const paced = await startDemoModel({ batch: { delayMs: 100, rowsPerSecond: 20 } });
    onTestFinished(() => paced.stop());
    const client = resolveBatchClient(demoConfig(paced.url), { maxRetries: 0 });
    const items = Array.from({ length: 200 }, (_, index) =>
      summaryItem(`c${index}`, DOCUMENTS[index % 3]!),
    );
    const handle = await client.submit(items, { key: "cancelled" });
    await expect
      .poll(async () => (await client.poll(handle)).done, { timeout: 20_000 })
      .toBeGreaterThan(0);
    const cancelling = await client.cancel(handle);
    expect(cancelling.state).toBe("cancelling");
    const final = (await pollUntilFinal(client, handle)).at(-1)!;
    expect(final.state).toBe("cancelled");
    expect(final.succeeded).toBeLessThan(200);
    expect((await client.cancel(handle)).state).toBe("cancelled");

    const results = await collectResults(
      client,
      handle,
      items.map((item) => item.customId),
    );
    const cancelled = [...results.values()].filter((result) => !result.ok);
    expect(cancelled.length).toBe(200 - final.succeeded);
    expect(cancelled[0]).toMatchObject({ error: { code: "cancelled" } });
  });

  it("passes the output limit on, and stops the answer there", async () => {
    const handle = await client.submit(
      [
        {
          customId: "short",
          messages: [{ role: "user", content: DOCUMENTS[1]! }],
          maxOutputTokens: 4,
        },
      ],
      { key: "output-limit" },
    );
    await pollUntilFinal(client, handle);
    const result = (await collectResults(client, handle, ["short"])).get("short")!;
    expect(result).toMatchObject({ ok: true, finishReason: "length", usage: { outputTokens: 4 } });
  });

  it("reports an invalid batch as failed with the provider's reasons", async () => {
    const wrongModel = resolveBatchClient(
      {
        ...demoConfig(server.url),
        AI_PROVIDER: "openai",
        OPENAI_API_KEY: "sk-test",
        OPENAI_BASE_URL: server.url,
      },
      { maxRetries: 0 },
    );
    const refused = await wrongModel.submit([summaryItem("a", DOCUMENTS[0]!)], {
      key: "wrong-model",
    });
    const final = (await pollUntilFinal(wrongModel, refused)).at(-1)!;
    expect(final.state).toBe("failed");
    expect(final.errors[0]).toMatch(/model_not_found/);
    expect(await collectResults(wrongModel, refused, ["a"])).toEqual(
      new Map([
        ["a", expect.objectContaining({ error: expect.objectContaining({ code: "missing" }) })],
      ]),
    );
  });

  it("refuses items that break the rules before sending anything", async () => {
    let calls = 0;
    const limited = resolveBatchClient(demoConfig(server.url), {
      limits: { maxItems: 2, maxBytes: 2_000 },
      fetch: (input, init) => {
        calls += 1;
        return fetch(input, init);
      },
    });
    const item = summaryItem("a", DOCUMENTS[0]!);
    const attempts: Array<[BatchItem[], RegExp]> = [
      [[], /at least one item/],
      [[item, { ...item, customId: "b" }, { ...item, customId: "c" }], /limit of 2/],
      [[item, { ...item }], /appears twice/],
      [[{ ...item, customId: "has space" }], /custom ids/],
      [[{ ...item, messages: [{ role: "user", content: "x".repeat(3_000) }] }], /at most 2000/],
    ];
    for (const [items, message] of attempts) {
      const error = await limited.submit(items, { key: "k" }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(BatchError);
      expect((error as BatchError).code).toBe("invalid_items");
      expect((error as BatchError).message).toMatch(message);
    }
    expect(calls).toBe(0);
  });

  it("says plainly when the provider no longer knows a batch, and refuses another provider's handle", async () => {
    const handle = { ...(await client.submit([summaryItem("z", DOCUMENTS[0]!)], { key: "z" })) };
    const unknown = { ...handle, batchId: "batch_gone" };
    const error = await client.poll(unknown).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "batch_not_found", retryable: false });
    expect((error as Error).message).toMatch(/restarting it loses them/);

    const mismatch = await client
      .poll({ ...handle, provider: "anthropic" })
      .catch((caught: unknown) => caught);
    expect(mismatch).toMatchObject({ code: "provider_mismatch" });

    const early = await startDemoModel({ batch: { delayMs: 5_000 } });
    try {
      const slow = resolveBatchClient(demoConfig(early.url), { maxRetries: 0 });
      const pending = await slow.submit([summaryItem("p", DOCUMENTS[0]!)], { key: "p" });
      const notReady = await collectResults(slow, pending, ["p"]).catch(
        (caught: unknown) => caught,
      );
      expect(notReady).toMatchObject({ code: "results_not_ready", retryable: true });
    } finally {
      await early.stop();
    }

    const down = resolveBatchClient(demoConfig("http://127.0.0.1:9/v1"), { maxRetries: 0 });
    await expect(down.poll({ ...handle })).rejects.toMatchObject({
      code: "provider_error",
      retryable: true,
    });
  });
});
