import type { UIMessageChunk } from "ai";
import { describe, expect, it } from "vitest";
import { uiMessageStreamResponse } from "@/lib/chat/ui-stream-response";

const chunks: UIMessageChunk[] = [
  { type: "start", messageId: "m1" },
  { type: "text-start", id: "t" },
  { type: "text-delta", id: "t", delta: "Hello" },
  { type: "text-delta", id: "t", delta: ' "world"\n\n<b>' },
  { type: "text-end", id: "t" },
  { type: "finish" },
];

/** A source that yields `chunks` one per pull and records how far it was read. */
function source() {
  let read = 0;
  const stream = new ReadableStream<UIMessageChunk>({
    async pull(controller) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (read < chunks.length) controller.enqueue(chunks[read++]!);
      else controller.close();
    },
  });
  return { stream, read: () => read };
}

describe("uiMessageStreamResponse", () => {
  it("speaks the AI SDK's UI message stream protocol: SSE chunks, [DONE], its headers", async () => {
    const response = uiMessageStreamResponse(source().stream, {
      headers: { "x-correlation-id": "abc12345" },
    });
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    expect(response.headers.get("x-vercel-ai-ui-message-stream")).toBe("v1");
    expect(response.headers.get("x-correlation-id")).toBe("abc12345");

    const text = await response.text();
    const events = text.split("\n\n");
    expect(events.pop()).toBe("");
    expect(events.pop()).toBe("data: [DONE]");
    // Every event is one `data:` line holding one chunk, as useChat's parser expects.
    const parsed = events.map((event) => {
      expect(event.startsWith("data: ")).toBe(true);
      expect(event.includes("\n")).toBe(false);
      return JSON.parse(event.slice("data: ".length)) as unknown;
    });
    expect(parsed).toEqual(chunks);
  });

  it("reads its source to the end after the client goes away", async () => {
    const { stream, read } = source();
    const response = uiMessageStreamResponse(stream);
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    expect(read()).toBeLessThan(chunks.length);
    for (let i = 0; i < 100 && read() < chunks.length; i++)
      await new Promise((resolve) => setTimeout(resolve, 5));
    expect(read()).toBe(chunks.length);
  });

  it("fails the response when its source fails", async () => {
    const failing = new ReadableStream<UIMessageChunk>({
      pull(controller) {
        controller.error(new Error("source broke"));
      },
    });
    await expect(uiMessageStreamResponse(failing).text()).rejects.toThrow("source broke");
  });
});
