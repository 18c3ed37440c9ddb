/**
 * The UI message stream on the wire, as `useChat` reads it: server-sent
 * events, one JSON chunk each, ending in `[DONE]` (the AI SDK's format).
 * Every event also carries its sequence number in the answer's log as the
 * SSE `id`, so the browser knows where to resume from.
 *
 * `sseBody` drains its source as fast as it produces, whatever the client
 * does, and after the client goes away it reads on to the end: for an answer
 * being generated, a closed tab is not a stop, the answer is still written
 * and logged. A follower passes `stopWhenGone`: it is aborted instead, which
 * ends the follower's subscription.
 */
const encoder = new TextEncoder();
const DONE = encoder.encode("data: [DONE]\n\n");

export const sseFrame = (seq: number, payload: string) => `id: ${seq}\ndata: ${payload}\n\n`;

export function sseBody(
  frames: AsyncIterable<string>,
  options: { stopWhenGone?: AbortController } = {},
): ReadableStream<Uint8Array> {
  const iterator = frames[Symbol.asyncIterator]();
  let clientGone = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      void (async () => {
        try {
          for (;;) {
            const { done, value } = await iterator.next();
            if (done) break;
            if (!clientGone) controller.enqueue(encoder.encode(value));
          }
          if (!clientGone) {
            controller.enqueue(DONE);
            controller.close();
          }
        } catch (error) {
          if (!clientGone) controller.error(error);
        }
      })();
    },
    cancel() {
      clientGone = true;
      options.stopWhenGone?.abort();
    },
  });
}
