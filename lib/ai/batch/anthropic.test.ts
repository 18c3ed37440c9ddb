import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_MAX_OUTPUT_TOKENS } from "@/lib/ai/batch/anthropic";
import { resolveBatchClient } from "@/lib/ai/batch/resolve";
import {
  batchHandleSchema,
  collectResults,
  isFinalBatchState,
  type BatchClient,
  type BatchHandle,
  type BatchStatus,
} from "@/lib/ai/batch/types";
import { DEFAULT_MODEL_IDS, type ModelConfig } from "@/lib/ai/models";
import { startFakeAnthropic, type FakeAnthropic } from "@/test/fake-anthropic-batches";
import { noProviderConfig } from "@/test/model-config";

const config: ModelConfig = noProviderConfig(undefined, { ANTHROPIC_API_KEY: "sk-ant-test" });

let fake: FakeAnthropic;
let client: BatchClient;
beforeEach(async () => {
  fake = await startFakeAnthropic({ perPoll: 1 });
  client = resolveBatchClient(config, { anthropicBaseURL: fake.url, maxRetries: 0 });
});
afterEach(async () => {
  await fake.stop();
});

async function pollUntilFinal(handle: BatchHandle): Promise<BatchStatus[]> {
  const seen: BatchStatus[] = [];
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const status = await client.poll(JSON.parse(JSON.stringify(handle)) as BatchHandle);
    seen.push(status);
    if (isFinalBatchState(status.state)) return seen;
  }
  throw new Error("the batch never ended");
}

const user = (content: string) => [{ role: "user" as const, content }];

describe("the Anthropic batch client against a Message Batches fake", () => {
  it("sends Message requests, follows progress to completed and maps results by custom id", async () => {
    expect(client).toMatchObject({ provider: "anthropic", modelId: DEFAULT_MODEL_IDS.anthropic });
    const handle = batchHandleSchema.parse(
      await client.submit(
        [
          { customId: "a", system: "Task: summarize.", messages: user("first text") },
          { customId: "b", messages: user("second text here"), maxOutputTokens: 50 },
          { customId: "c", messages: user("this one is INVALID") },
        ],
        { key: "anthropic-happy" },
      ),
    );
    expect(handle).toMatchObject({ provider: "anthropic", itemCount: 3 });
    expect(fake.created[0]!.requests).toEqual([
      {
        custom_id: "a",
        params: {
          model: DEFAULT_MODEL_IDS.anthropic,
          max_tokens: DEFAULT_MAX_OUTPUT_TOKENS,
          system: "Task: summarize.",
          messages: user("first text"),
        },
      },
      {
        custom_id: "b",
        params: {
          model: DEFAULT_MODEL_IDS.anthropic,
          max_tokens: 50,
          messages: user("second text here"),
        },
      },
      {
        custom_id: "c",
        params: {
          model: DEFAULT_MODEL_IDS.anthropic,
          max_tokens: DEFAULT_MAX_OUTPUT_TOKENS,
          messages: user("this one is INVALID"),
        },
      },
    ]);

    const statuses = await pollUntilFinal(handle);
    expect(statuses.map((status) => [status.state, status.done])).toEqual([
      ["in_progress", 1],
      ["in_progress", 2],
      ["completed", 3],
    ]);
    expect(statuses.at(-1)).toMatchObject({ total: 3, succeeded: 2, failed: 1, errors: [] });
    expect(statuses.at(-1)!.endedAt).not.toBeNull();

    const results = await collectResults(client, handle, ["a", "b", "c"]);
    expect(results.get("a")).toEqual({
      customId: "a",
      ok: true,
      text: "Echo: first text",
      finishReason: "end_turn",
      // 2 + 2 input tokens, plus 2 read from the cache.
      usage: { inputTokens: 6, outputTokens: 3 },
    });
    expect(results.get("b")).toMatchObject({ ok: true, text: "Echo: second text here" });
    expect(results.get("c")).toMatchObject({
      ok: false,
      error: { code: "invalid_request", retryable: false, message: "messages: text is invalid" },
    });
  });

  it("maps overloaded rows to retryable server errors", async () => {
    const handle = await client.submit([{ customId: "x", messages: user("OVERLOADED") }], {
      key: "k",
    });
    await pollUntilFinal(handle);
    expect((await collectResults(client, handle, ["x"])).get("x")).toMatchObject({
      ok: false,
      error: { code: "server_error", retryable: true },
    });
  });

  it("reports an expired batch and its expired items", async () => {
    const handle = await client.submit(
      [
        { customId: "done", messages: user("one") },
        { customId: "late", messages: user("two") },
      ],
      { key: "k" },
    );
    expect((await client.poll(handle)).done).toBe(1);
    fake.expire(handle.batchId);
    const status = await client.poll(handle);
    expect(status).toMatchObject({
      state: "expired",
      succeeded: 1,
      failed: 1,
      providerStatus: "ended",
    });
    const results = await collectResults(client, handle, ["done", "late"]);
    expect(results.get("done")!.ok).toBe(true);
    expect(results.get("late")).toMatchObject({ error: { code: "expired", retryable: true } });
  });

  it("cancels: canceling, then ended as cancelled; an ended batch is returned as it is", async () => {
    const handle = await client.submit(
      [1, 2, 3, 4].map((n) => ({ customId: `n${n}`, messages: user(`text ${n}`) })),
      { key: "k" },
    );
    await client.poll(handle);
    const cancelling = await client.cancel(handle);
    expect(cancelling).toMatchObject({ state: "cancelling", providerStatus: "canceling" });
    const final = await client.poll(handle);
    // The fake answers one request per retrieve: the poll and cancel's own check answered two.
    expect(final).toMatchObject({ state: "cancelled", succeeded: 2, failed: 2 });
    expect((await client.cancel(handle)).state).toBe("cancelled");
    const results = await collectResults(client, handle, ["n1", "n2", "n3", "n4"]);
    expect(results.get("n1")!.ok).toBe(true);
    expect(results.get("n4")).toMatchObject({ error: { code: "cancelled" } });
  });

  it("refuses results before the batch ends, and reports unknown batches", async () => {
    const handle = await client.submit(
      [
        { customId: "a", messages: user("one") },
        { customId: "b", messages: user("two") },
      ],
      { key: "k" },
    );
    await expect(collectResults(client, handle, ["a"])).rejects.toMatchObject({
      code: "results_not_ready",
    });
    await expect(client.poll({ ...handle, batchId: "msgbatch_nope" })).rejects.toMatchObject({
      code: "batch_not_found",
      retryable: false,
    });
  });
});
