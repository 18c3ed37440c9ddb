import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { composeReply } from "@/lib/ai/demo-model/compose";
import { DEMO_MODEL_ID } from "@/lib/ai/demo-model/protocol";
import {
  startDemoModel,
  type DemoModelServer,
  type DemoRequestRecord,
} from "@/lib/ai/demo-model/server";
import { streamTokens } from "@/lib/ai/demo-model/text";

interface Chunk {
  id: string;
  object: string;
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: { role?: string; content?: string };
    finish_reason: string | null;
  }>;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
}

interface SseResult {
  chunks: Chunk[];
  done: boolean;
  /** Set when the connection broke before the stream ended. */
  error?: unknown;
}

/** Reads an SSE body into its parsed `data:` payloads, stopping at [DONE] or a broken connection. */
async function readSse(
  response: Response,
  onChunk?: (chunk: Chunk, count: number) => void,
): Promise<SseResult> {
  const result: SseResult = { chunks: [], done: false };
  const decoder = new TextDecoder();
  let buffer = "";
  const reader = response.body!.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let boundary: number;
      while ((boundary = buffer.indexOf("\n\n")) !== -1) {
        const event = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        expect(event.startsWith("data: ")).toBe(true);
        const data = event.slice("data: ".length);
        if (data === "[DONE]") {
          result.done = true;
          continue;
        }
        const chunk = JSON.parse(data) as Chunk;
        result.chunks.push(chunk);
        onChunk?.(chunk, result.chunks.length);
      }
    }
  } catch (error) {
    result.error = error;
  }
  return result;
}

function contentOf(chunks: SseResult["chunks"]): string[] {
  return chunks.flatMap((chunk) => {
    const content = chunk.choices?.[0]?.delta?.content;
    return typeof content === "string" && content !== "" ? [content] : [];
  });
}

const QUESTION = "How should a chat app handle streaming errors and retries?";

let server: DemoModelServer;
const waiters = new Map<string, (record: DemoRequestRecord) => void>();

/** The record of the request sent with `x-correlation-id: id`, once it ends. */
function recordFor(id: string): Promise<DemoRequestRecord> {
  return new Promise((resolve) => waiters.set(id, resolve));
}

beforeAll(async () => {
  server = await startDemoModel({
    ttftMs: 0,
    tokensPerSecond: 0,
    maxBodyBytes: 64 * 1024,
    onRequestEnd: (record) => {
      if (record.correlationId) waiters.get(record.correlationId)?.(record);
    },
  });
});

afterAll(async () => {
  await server.stop();
});

function post(
  body: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(`${server.url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal,
  });
}

function chat(content: string, extra: Record<string, unknown> = {}) {
  return { model: DEMO_MODEL_ID, messages: [{ role: "user", content }], ...extra };
}

describe("demo model protocol", () => {
  it("lists its model", async () => {
    const response = await fetch(`${server.url}/models`);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ object: "list", data: [{ id: DEMO_MODEL_ID, object: "model" }] });
  });

  it("streams chat.completion.chunk events ending in [DONE], with usage when asked", async () => {
    const response = await post(
      chat(QUESTION, { stream: true, stream_options: { include_usage: true } }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const { chunks, done, error } = await readSse(response);
    expect(error).toBeUndefined();
    expect(done).toBe(true);

    const id = chunks[0]!.id as string;
    expect(id).toMatch(/^chatcmpl-/);
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({ id, object: "chat.completion.chunk", model: DEMO_MODEL_ID });
      expect(typeof chunk.created).toBe("number");
    }
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: "assistant", content: "" });
    const expected = composeReply([{ role: "user", content: QUESTION }]).text;
    const content = contentOf(chunks);
    expect(content.join("")).toBe(expected);
    expect(content).toEqual(streamTokens(expected));

    const finish = chunks.at(-2)!;
    expect(finish.choices[0]).toMatchObject({ delta: {}, finish_reason: "stop" });
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    const usage = last.usage!;
    expect(usage.completion_tokens).toBe(content.length);
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
  });

  it("sends no usage chunk unless asked", async () => {
    const { chunks, done } = await readSse(await post(chat(QUESTION, { stream: true })));
    expect(done).toBe(true);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe("stop");
    expect(chunks.every((chunk) => !("usage" in chunk))).toBe(true);
  });

  it("answers without streaming", async () => {
    const response = await post(chat(QUESTION));
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({
      object: "chat.completion",
      model: DEMO_MODEL_ID,
      choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant" } }],
    });
    expect(body.choices[0].message.content).toBe(
      composeReply([{ role: "user", content: QUESTION }]).text,
    );
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
  });

  it("reads content given as an array of text parts", async () => {
    const body = await (
      await post({
        model: DEMO_MODEL_ID,
        messages: [{ role: "user", content: [{ type: "text", text: QUESTION }] }],
      })
    ).json();
    expect(body.choices[0].message.content).toBe(
      composeReply([{ role: "user", content: QUESTION }]).text,
    );
  });

  it("stops at max_tokens with finish_reason length", async () => {
    const body = await (await post(chat(QUESTION, { max_tokens: 5 }))).json();
    expect(body.choices[0].finish_reason).toBe("length");
    expect(body.usage.completion_tokens).toBe(5);
  });

  it("is deterministic", async () => {
    const first = await (
      await post(chat(`Summarize: ${QUESTION} Retries are bounded. Errors are shown.`))
    ).json();
    const second = await (
      await post(chat(`Summarize: ${QUESTION} Retries are bounded. Errors are shown.`))
    ).json();
    expect(first.choices[0].message.content).toBe(second.choices[0].message.content);
  });

  it("answers errors in OpenAI's error shape", async () => {
    const cases: Array<[Promise<Response>, number, string]> = [
      [post("{not json"), 400, "invalid_json"],
      [post({ model: DEMO_MODEL_ID, messages: [] }), 400, "invalid_value"],
      [post({ ...chat("hi"), model: "gpt-nothing" }), 404, "model_not_found"],
      [post(chat("hi [[demo:explode]]")), 400, "invalid_directive"],
      [post(chat("x".repeat(70 * 1024))), 413, "request_too_large"],
      [fetch(`${server.url}/chat/completions`), 405, "method_not_allowed"],
      [fetch(`${server.url}/embeddings`), 404, "unknown_url"],
    ];
    for (const [request, status, code] of cases) {
      const response = await request;
      expect(response.status).toBe(status);
      const body = await response.json();
      expect(body.error).toMatchObject({ code });
      expect(typeof body.error.message).toBe("string");
      expect(typeof body.error.type).toBe("string");
      expect(body.error).toHaveProperty("param");
    }
  });

  // NOTE: CPU-bound (60 paced streams in one process): a saturated machine needs longer.
  it("serves 60 concurrent streams", { timeout: 120_000 }, async () => {
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        post(chat(`Stream number ${i}`, { stream: true }), {
          "x-demo-tokens-per-second": "200",
        }).then((r) => readSse(r)),
      ),
    );
    for (const [i, result] of results.entries()) {
      expect(result.done).toBe(true);
      expect(contentOf(result.chunks).join("")).toBe(
        composeReply([{ role: "user", content: `Stream number ${i}` }]).text,
      );
    }
  });
});

describe("demo model faults", () => {
  it("fails with 429 and Retry-After before the first token", async () => {
    const response = await post(
      chat(`${QUESTION} [[demo:fail-429 retry-after=7]]`, { stream: true }),
    );
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("7");
    expect((await response.json()).error).toMatchObject({
      type: "rate_limit_error",
      code: "rate_limit_exceeded",
    });
  });

  it("fails with 500 before the first token, also when asked by header", async () => {
    const byMarker = await post(chat(`${QUESTION} [[demo:fail-500]]`, { stream: true }));
    expect(byMarker.status).toBe(500);
    expect((await byMarker.json()).error.type).toBe("server_error");
    const byHeader = await post(chat(QUESTION, { stream: true }), { "x-demo-fault": "fail-500" });
    expect(byHeader.status).toBe(500);
    await byHeader.body?.cancel();
  });

  it("drops the connection after exactly N tokens, without [DONE] or a finish reason", async () => {
    for (const n of [0, 1, 20]) {
      const response = await post(chat(`${QUESTION} [[demo:drop-after=${n}]]`, { stream: true }));
      expect(response.status).toBe(200);
      const { chunks, done, error } = await readSse(response);
      expect(error).toBeDefined();
      expect(done).toBe(false);
      const expected = streamTokens(composeReply([{ role: "user", content: QUESTION }]).text);
      expect(contentOf(chunks)).toEqual(expected.slice(0, n));
      expect(chunks.some((chunk) => chunk.choices[0]?.finish_reason)).toBe(false);
    }
  });

  it("drops a non-streaming request without an answer", async () => {
    await expect(post(chat(`${QUESTION} [[demo:drop-after=3]]`))).rejects.toThrow();
  });

  it("fails only the first K attempts of an identical request", async () => {
    const request = chat(`${QUESTION} [[demo:fail-500-times=2]]`);
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 4; attempt++) {
      const response = await post(request);
      statuses.push(response.status);
      await response.body?.cancel();
    }
    expect(statuses).toEqual([500, 500, 200, 200]);
    // A different conversation has its own count.
    expect((await post(chat(`Another question [[demo:fail-500-times=2]]`))).status).toBe(500);
  });

  it("stalls mid-stream, then resumes without losing text", async () => {
    const stalled = recordFor("stall");
    const controller = new AbortController();
    let stalledAt = -1;
    const response = await post(
      chat(`${QUESTION} [[demo:stall-ms=60000 after=3]]`, { stream: true }),
      { "x-correlation-id": "stall" },
      controller.signal,
    );
    const result = readSse(response, (_chunk, count) => {
      // The opening chunk and 3 tokens arrive; a while later, still inside
      // the stall, the client gives up. Nothing more may have been sent.
      if (count === 4) {
        stalledAt = count;
        setTimeout(() => controller.abort(), 300);
      }
    });
    const { chunks } = await result;
    expect(stalledAt).toBe(4);
    expect(contentOf(chunks)).toHaveLength(3);
    const record = await stalled;
    expect(record).toMatchObject({ outcome: "aborted", tokensSent: 3 });

    const short = await readSse(
      await post(chat(`${QUESTION} [[demo:stall-ms=50 after=2]]`, { stream: true })),
    );
    expect(short.done).toBe(true);
    expect(contentOf(short.chunks).join("")).toBe(
      composeReply([{ role: "user", content: QUESTION }]).text,
    );
  });

  it("applies faults from the server configuration to every request", async () => {
    const configured = await startDemoModel({
      ttftMs: 0,
      tokensPerSecond: 0,
      faults: "fail-500 every=2",
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const response = await fetch(`${configured.url}/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(chat(`q${i}`)),
        });
        statuses.push(response.status);
        await response.body?.cancel();
      }
      expect(statuses).toEqual([200, 500, 200, 500]);
    } finally {
      await configured.stop();
    }
  });
});

describe("demo model aborts", () => {
  it("stops generating when the client disconnects", async () => {
    const ended = recordFor("abort");
    const controller = new AbortController();
    const response = await post(
      chat(QUESTION, { stream: true }),
      { "x-demo-tokens-per-second": "20", "x-correlation-id": "abort" },
      controller.signal,
    );
    await readSse(response, (_chunk, count) => {
      if (count === 3) controller.abort();
    });
    const record = await ended;
    expect(record.outcome).toBe("aborted");
    expect(record.tokensSent).toBeLessThan(record.tokensPlanned);
    const sentAtAbort = server.stats().tokensSent;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.stats().tokensSent).toBe(sentAtAbort);
    expect(server.stats().activeRequests).toBe(0);
  });
});
