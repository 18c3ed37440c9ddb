/**
 * The one server-sent events reader for tests: reads a response body frame
 * by frame (`event:`, `id:`, `data:`), as a browser's EventSource would, and
 * lets a test wait for the frames it expects before acting again.
 */

export interface SseFrame {
  event: string | null;
  id: string | null;
  data: string | null;
}

export class SseReader {
  readonly frames: SseFrame[] = [];
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffer = "";
  private ended = false;

  constructor(
    response: Response,
    private readonly controller?: AbortController,
  ) {
    this.reader = response.body!.getReader();
  }

  /** Reads until `done(frames)` holds or the stream ends; returns every frame read so far. */
  async until(done: (frames: SseFrame[]) => boolean): Promise<SseFrame[]> {
    while (!done(this.frames) && !this.ended) {
      const { done: finished, value } = await this.reader.read();
      if (finished) {
        this.ended = true;
        break;
      }
      this.buffer += this.decoder.decode(value, { stream: true });
      let end: number;
      while ((end = this.buffer.indexOf("\n\n")) !== -1) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const field = (name: string) =>
          new RegExp(`^${name}: ?(.*)$`, "m").exec(block)?.[1] ?? null;
        this.frames.push({ event: field("event"), id: field("id"), data: field("data") });
      }
    }
    return this.frames;
  }

  async close(): Promise<void> {
    this.controller?.abort();
    await this.reader.cancel().catch(() => {});
  }
}
