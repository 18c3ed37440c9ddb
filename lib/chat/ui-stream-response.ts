/**
 * A UI message stream as the HTTP response `useChat` reads: server-sent
 * events, one JSON chunk each, ending in `[DONE]` (the AI SDK's format and
 * headers). It differs from the SDK's `toUIMessageStreamResponse` in one
 * respect: the source is read as fast as it produces, whatever the client
 * does, and after the client goes away it is read to the end. A closed tab is
 * not a stop: the answer is still generated, so its `onFinish` runs and the
 * whole answer is stored. This replaces a second `consumeStream()` branch on
 * the result (a tee and a transform for every chunk) with one stage.
 */
import { UI_MESSAGE_STREAM_HEADERS, type UIMessageChunk } from "ai";

const encoder = new TextEncoder();
const DONE = encoder.encode("data: [DONE]\n\n");

export function uiMessageStreamResponse(
  source: ReadableStream<UIMessageChunk>,
  init: { headers?: Record<string, string> } = {},
): Response {
  const reader = source.getReader();
  let clientGone = false;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      void (async () => {
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (clientGone) {
              if (done) return;
              continue;
            }
            if (done) {
              controller.enqueue(DONE);
              controller.close();
              return;
            }
            controller.enqueue(encoder.encode(`data: ${JSON.stringify(value)}\n\n`));
          }
        } catch (error) {
          if (!clientGone) controller.error(error);
        }
      })();
    },
    cancel() {
      // Keep reading (and discarding) so the answer is generated to its end.
      clientGone = true;
    },
  });
  return new Response(body, { headers: { ...UI_MESSAGE_STREAM_HEADERS, ...init.headers } });
}
