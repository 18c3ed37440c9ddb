import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { composeReply } from "@/lib/ai/demo-model/compose";
import { DEMO_MODEL_ID } from "@/lib/ai/demo-model/protocol";
import { startDemoModel, type DemoModelServer } from "@/lib/ai/demo-model/server";
import { countTokens, streamTokens } from "@/lib/ai/demo-model/text";

const QUESTIONS = [
  "How should a chat app handle streaming errors?",
  "Why do batch APIs cost less than live calls?",
  "What does a durable step retry?",
];

function jsonl(rows: unknown[]): string {
  return rows.map((row) => JSON.stringify(row)).join("\n") + "\n";
}

function row(customId: string, content: string) {
  return {
    custom_id: customId,
    method: "POST",
    url: "/v1/chat/completions",
    body: { model: DEMO_MODEL_ID, messages: [{ role: "user", content }] },
  };
}

let server: DemoModelServer;
let client: OpenAI;
beforeAll(async () => {
  server = await startDemoModel({ batch: { delayMs: 20, rowsPerSecond: 0 } });
  client = new OpenAI({ apiKey: "not-needed", baseURL: server.url, maxRetries: 0 });
});
afterAll(async () => {
  await server.stop();
});

async function upload(rows: unknown[]) {
  return client.files.create({
    file: await toFile(Buffer.from(jsonl(rows)), "requests.jsonl"),
    purpose: "batch",
  });
}

async function waitFor(id: string, statuses: string[]) {
  // A deadline, not a count of polls: on a loaded machine each poll takes longer.
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    const batch = await client.batches.retrieve(id);
    if (statuses.includes(batch.status)) return batch;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`batch ${id} never reached ${statuses.join("|")}`);
}

async function lines(fileId: string) {
  const text = await (await client.files.content(fileId)).text();
  return text
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("the official openai SDK against the demo Batch API", () => {
  it("uploads a file, runs a batch to completion and downloads answers the live endpoint would give", async () => {
    const file = await upload(QUESTIONS.map((question, index) => row(`item-${index}`, question)));
    expect(file).toMatchObject({ object: "file", purpose: "batch", status: "processed" });
    expect((await client.files.retrieve(file.id)).bytes).toBe(file.bytes);

    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
      metadata: { job: "interop" },
    });
    expect(created).toMatchObject({
      object: "batch",
      status: "validating",
      metadata: { job: "interop" },
    });

    const batch = await waitFor(created.id, ["completed", "failed"]);
    expect(batch.status).toBe("completed");
    expect(batch.request_counts).toEqual({ total: 3, completed: 3, failed: 0 });
    expect(batch.in_progress_at).toBeGreaterThanOrEqual(batch.created_at);
    expect(batch.finalizing_at).toBeGreaterThanOrEqual(batch.in_progress_at!);
    expect(batch.completed_at).toBeGreaterThanOrEqual(batch.finalizing_at!);
    expect(batch.error_file_id).toBeNull();

    const output = await lines(batch.output_file_id!);
    expect(output.map((line) => line.custom_id)).toEqual(["item-0", "item-1", "item-2"]);
    let outputTokens = 0;
    output.forEach((line, index) => {
      const expected = composeReply([{ role: "user", content: QUESTIONS[index]! }]).text;
      expect(line).toMatchObject({
        error: null,
        response: {
          status_code: 200,
          body: {
            object: "chat.completion",
            model: DEMO_MODEL_ID,
            choices: [{ message: { role: "assistant", content: expected }, finish_reason: "stop" }],
            usage: {
              prompt_tokens: countTokens(QUESTIONS[index]!),
              completion_tokens: streamTokens(expected).length,
            },
          },
        },
      });
      outputTokens += streamTokens(expected).length;
    });
    expect(batch.usage?.output_tokens).toBe(outputTokens);
  });

  it("lists batches newest first, page by page", async () => {
    const file = await upload([row("only", QUESTIONS[0]!)]);
    const ids: string[] = [];
    for (let index = 0; index < 3; index += 1) {
      const batch = await client.batches.create({
        input_file_id: file.id,
        endpoint: "/v1/chat/completions",
        completion_window: "24h",
      });
      ids.push(batch.id);
    }
    const firstPage = await client.batches.list({ limit: 2 });
    expect(firstPage.data.map((batch) => batch.id)).toEqual([ids[2], ids[1]]);
    expect(firstPage.hasNextPage()).toBe(true);
    const seen: string[] = [];
    for await (const batch of client.batches.list({ limit: 2 })) seen.push(batch.id);
    expect(seen.slice(0, 3)).toEqual([ids[2], ids[1], ids[0]]);
  });

  it("cancels a running batch: cancelling, then cancelled with the finished rows kept", async () => {
    const ROWS = 200;
    const paced = await startDemoModel({ batch: { delayMs: 0, rowsPerSecond: 20 } });
    try {
      const pacedClient = new OpenAI({ apiKey: "x", baseURL: paced.url, maxRetries: 0 });
      const file = await pacedClient.files.create({
        file: await toFile(
          Buffer.from(
            jsonl(
              // 10 s at this pace: a stalled test process cannot miss the batch running.
              Array.from({ length: ROWS }, (_, index) => row(`r${index}`, QUESTIONS[index % 3]!)),
            ),
          ),
          "requests.jsonl",
        ),
        purpose: "batch",
      });
      const batch = await pacedClient.batches.create({
        input_file_id: file.id,
        endpoint: "/v1/chat/completions",
        completion_window: "24h",
      });
      await expect
        .poll(
          async () => (await pacedClient.batches.retrieve(batch.id)).request_counts?.completed,
          { timeout: 20_000 },
        )
        .toBeGreaterThan(2);
      const cancelling = await pacedClient.batches.cancel(batch.id);
      expect(cancelling.status).toBe("cancelling");
      expect(cancelling.cancelling_at).toBeTypeOf("number");

      let cancelled = await pacedClient.batches.retrieve(batch.id);
      for (
        const deadline = Date.now() + 20_000;
        cancelled.status !== "cancelled" && Date.now() < deadline;
      ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        cancelled = await pacedClient.batches.retrieve(batch.id);
      }
      expect(cancelled.status).toBe("cancelled");
      const done = cancelled.request_counts!.completed;
      expect(done).toBeGreaterThan(2);
      expect(done).toBeLessThan(ROWS);
      const text = await (await pacedClient.files.content(cancelled.output_file_id!)).text();
      expect(text.trim().split("\n")).toHaveLength(done);
      const errorText = await (await pacedClient.files.content(cancelled.error_file_id!)).text();
      const unfinished = errorText
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line));
      expect(unfinished).toHaveLength(ROWS - done);
      expect(unfinished[0]).toMatchObject({ response: null, error: { code: "batch_cancelled" } });

      await expect(pacedClient.batches.cancel(batch.id)).resolves.toMatchObject({
        status: "cancelled",
      });
    } finally {
      await paced.stop();
    }
  });

  it("answers unknown ids with 404 and bad requests with typed 400s", async () => {
    await expect(client.batches.retrieve("batch_missing")).rejects.toBeInstanceOf(
      OpenAI.NotFoundError,
    );
    await expect(client.files.retrieve("file-missing")).rejects.toBeInstanceOf(
      OpenAI.NotFoundError,
    );
    const file = await upload([row("a", QUESTIONS[0]!)]);
    await expect(
      client.batches.create({
        input_file_id: file.id,
        endpoint: "/v1/embeddings",
        completion_window: "24h",
      }),
    ).rejects.toMatchObject({ status: 400, code: "unsupported_endpoint", param: "endpoint" });
    await expect(
      client.files.create({
        file: await toFile(Buffer.from("{}\n"), "x.jsonl"),
        purpose: "assistants",
      }),
    ).rejects.toMatchObject({ status: 400, param: "purpose" });
  });
});
