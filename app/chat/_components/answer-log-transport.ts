/**
 * The chat's transport: the AI SDK's DefaultChatTransport, with the requests
 * our routes expect and one addition. Every event the server sends carries
 * its sequence number in the answer's log as the SSE `id`; the transport
 * remembers the last one the page has taken in, so that after a network
 * drop the resume request (GET /api/chat/[id]/stream) asks for the events
 * after it and the answer continues where it stopped. A reload or a second
 * tab asks without it and gets the whole answer replayed from its `start`
 * chunk (the SDK then rebuilds the message: the text appears exactly once).
 */
import { DefaultChatTransport, type UIMessageChunk } from "ai";
import { historyForSpeculation } from "@/lib/chat/schema";
import type { ChatUIMessage } from "@/lib/trpc/routers/chat";

type ContinueBody = { action?: "continue" };

/** Passes the bytes through and records each event's `id:` line, in order. */
function eventIds(into: number[]): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  let line = "";
  return new TransformStream({
    transform(bytes, controller) {
      const lines = (line + decoder.decode(bytes, { stream: true })).split("\n");
      line = lines.pop() ?? "";
      for (const text of lines) if (text.startsWith("id:")) into.push(Number(text.slice(3)));
      controller.enqueue(bytes);
    },
  });
}

export class AnswerLogTransport extends DefaultChatTransport<ChatUIMessage> {
  /** The answer the page holds and the last of its events the page took in. */
  private position: { messageId: string | null; seq: number } = { messageId: null, seq: 0 };
  private continueFromPosition = false;

  constructor(conversationId: string) {
    super({
      api: "/api/chat",
      prepareSendMessagesRequest: ({ messages, trigger, body }) => {
        if (trigger === "regenerate-message")
          return { body: { action: "regenerate", conversationId } };
        if ((body as ContinueBody | undefined)?.action === "continue") {
          return { body: { action: "continue", conversationId } };
        }
        const last = messages.at(-1)!;
        return {
          body: {
            action: "submit",
            conversationId,
            message: { id: last.id, role: "user", parts: last.parts },
            history: historyForSpeculation(messages.slice(0, -1)),
          },
        };
      },
      prepareReconnectToStreamRequest: () => {
        const { messageId, seq } = this.position;
        const query =
          this.continueFromPosition && messageId
            ? `?${new URLSearchParams({ message: messageId, after: String(seq) })}`
            : "";
        return { api: `/api/chat/${encodeURIComponent(conversationId)}/stream${query}` };
      },
      // A resume without a position replays the answer from its start chunk.
      resumeStreamIsReplay: true,
    });
  }

  /** After a network drop the next resume continues from the position; otherwise it replays. */
  setDisconnected(disconnected: boolean) {
    this.continueFromPosition = disconnected;
  }

  protected override processResponseStream(
    stream: ReadableStream<Uint8Array>,
  ): ReadableStream<UIMessageChunk> {
    const ids: number[] = [];
    const chunks = super.processResponseStream(stream.pipeThrough(eventIds(ids))).getReader();
    const position = this.position;
    // NOTE: highWaterMark 0: a chunk is read from the network only when the
    // SDK asks for it, so the recorded seq never runs ahead of what the SDK
    // took; if the connection drops, nothing recorded was lost in a buffer.
    return new ReadableStream<UIMessageChunk>(
      {
        async pull(controller) {
          const { done, value } = await chunks.read();
          if (done) return controller.close();
          const seq = ids.shift();
          if (value.type === "start" && value.messageId) position.messageId = value.messageId;
          if (seq !== undefined && Number.isFinite(seq)) position.seq = seq;
          controller.enqueue(value);
        },
        cancel(reason) {
          return chunks.cancel(reason);
        },
      },
      { highWaterMark: 0 },
    );
  }
}
