/**
 * The decompression-bomb check for PDFs: how many bytes the file's zlib
 * (FlateDecode) streams inflate to, counted before pdf.js opens the file.
 *
 * pdf.js keeps every stream it decodes whole in memory, so a 200 KB file whose
 * content stream inflates to 200 MB costs 200 MB and seconds of parsing per
 * page that uses it. Here each stream is inflated with Node's zlib (which runs
 * in libuv's thread pool, off the JS thread) and its output is counted and
 * dropped chunk by chunk, so the check itself holds no more than a few chunks.
 *
 * Streams are found the way pdf.js reads them, not through the cross-reference
 * table: at every `stream` keyword the data starts after the next end of line,
 * and zlib, not the declared /Length or a later `endstream`, decides where the
 * compressed data ends (a hostile file can put `endstream` inside its data).
 * A stream whose output is itself zlib data (a `[/FlateDecode /FlateDecode]`
 * filter chain) is counted at every layer.
 *
 * NOTE: only zlib streams are counted. LZW and RunLength streams (rare in
 * current PDFs) can also expand; the extraction worker's memory limit (its
 * ArrayBuffers are watched, see extract-pdf.ts) and deadline bound those.
 */
import { Readable, pipeline } from "node:stream";
import zlib from "node:zlib";
import { IngestError } from "@/lib/ingest/errors";

/** Filter chains deeper than this are refused: real files use one or two layers. */
const maxLayers = 4;
const sliceBytes = 16 * 1024;
const smallOutputBytes = 64 * 1024;
const streamKeyword = Buffer.from("stream");
const endKeyword = Buffer.from("end");

class OverBudget extends Error {}

function inflatedTooLarge(maxBytes: number, detail: string): IngestError {
  return new IngestError(
    "too_complex",
    `This PDF unpacks to more than ${Math.round(maxBytes / (1024 * 1024))} MB, more than can be read safely.`,
    { detail },
  );
}

export interface InflateBudget {
  /** Total inflated bytes allowed across the file's zlib streams. */
  maxBytes: number;
  /**
   * zlib streams allowed in one file. Each costs a zlib setup, so a file
   * stuffed with tiny fake streams is refused instead of costing seconds.
   */
  maxStreams?: number;
  signal?: AbortSignal;
}

/** Streams checked between turns of the event loop, so other requests keep being served. */
const streamsPerTurn = 64;

/**
 * Resolves with the total inflated size of the PDF's zlib streams, or throws
 * `too_complex` as soon as the total passes `maxBytes` or there are more than
 * `maxStreams` streams.
 */
export async function checkInflatedSize(
  pdf: Uint8Array,
  { maxBytes, maxStreams = 100_000, signal }: InflateBudget,
): Promise<number> {
  const bytes = Buffer.from(pdf.buffer, pdf.byteOffset, pdf.byteLength);
  const budget = { used: 0, max: maxBytes };
  const dataStart = dataStarts(bytes);
  let streams = 0;
  for (
    let at = bytes.indexOf(streamKeyword);
    at !== -1;
    at = bytes.indexOf(streamKeyword, at + streamKeyword.length)
  ) {
    if (at >= 3 && bytes.subarray(at - 3, at).equals(endKeyword)) continue;
    const start = dataStart(at + streamKeyword.length);
    if (start === undefined || !hasZlibHeader(bytes, start)) continue;
    if (++streams > maxStreams) {
      throw new IngestError(
        "too_complex",
        "This PDF has more compressed parts than can be read safely.",
        { detail: `more than ${maxStreams} zlib streams` },
      );
    }
    if (streams % streamsPerTurn === 0) await new Promise((resolve) => setImmediate(resolve));
    signal?.throwIfAborted();
    const data = bytes.subarray(start);
    const small = inflateSmall(data, budget.max - budget.used);
    if (small !== undefined) {
      budget.used += small;
      continue;
    }
    try {
      await countLayer(slices(data), budget, 1);
    } catch (error) {
      if (error instanceof OverBudget)
        throw inflatedTooLarge(maxBytes, `zlib streams inflate past ${maxBytes} bytes`);
      throw error;
    }
  }
  return budget.used;
}

/**
 * The inflated size of a stream that inflates to at most `smallOutputBytes`
 * (almost all of them: page contents, fonts, object streams), synchronously,
 * which costs microseconds where the streamed count costs about half a
 * millisecond per stream. Undefined for anything else (larger, nested,
 * damaged), which the streamed count then measures.
 */
function inflateSmall(data: Uint8Array, remaining: number): number | undefined {
  try {
    const output = zlib.inflateSync(data, {
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
      maxOutputLength: Math.max(1, Math.min(smallOutputBytes, remaining)),
    });
    return hasZlibHeader(output, 0) ? undefined : output.length;
  } catch {
    return undefined;
  }
}

/**
 * Where a stream's data starts after its keyword: pdf.js skips to the end of
 * the line (CR, LF or CRLF), however far away it is.
 * NOTE: the next CR and LF are remembered, since a hostile file can hold
 * millions of `stream` keywords with no line end after them, and searching
 * afresh for each would take quadratic time.
 */
function dataStarts(bytes: Buffer): (from: number) => number | undefined {
  let lf = -1;
  let cr = -1;
  let lfDone = false;
  let crDone = false;
  return (from) => {
    if (!lfDone && lf < from) {
      lf = bytes.indexOf(0x0a, from);
      lfDone = lf === -1;
    }
    if (!crDone && cr < from) {
      cr = bytes.indexOf(0x0d, from);
      crDone = cr === -1;
    }
    const nextLf = lfDone ? Infinity : lf;
    const nextCr = crDone ? Infinity : cr;
    if (nextCr < nextLf) return bytes[nextCr + 1] === 0x0a ? nextCr + 2 : nextCr + 1;
    return nextLf === Infinity ? undefined : nextLf + 1;
  };
}

// The same header checks pdf.js's FlateStream makes; data failing them is never inflated.
function hasZlibHeader(bytes: Uint8Array, at: number): boolean {
  const cmf = bytes[at];
  const flg = bytes[at + 1];
  if (cmf === undefined || flg === undefined) return false;
  return (cmf & 0x0f) === 0x08 && ((cmf << 8) + flg) % 31 === 0 && (flg & 0x20) === 0;
}

function* slices(bytes: Uint8Array): Generator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += sliceBytes)
    yield bytes.subarray(offset, offset + sliceBytes);
}

type Budget = { used: number; max: number };

/**
 * Inflates one zlib stream, adding its output to the budget; output that is
 * itself zlib data is inflated and counted in turn, and the rest of this
 * layer is still counted after it (pdf.js decodes every layer whole).
 * Damaged data counts what inflated before the damage, where pdf.js would
 * also stop.
 */
async function countLayer(
  compressed: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  budget: Budget,
  layer: number,
): Promise<void> {
  // Bytes after the end of the compressed data are ignored: zlib ends its output there.
  const inflate = zlib.createInflate({ finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const source = Readable.from(compressed, { objectMode: false, highWaterMark: sliceBytes });
  pipeline(source, inflate, () => undefined);
  const counter = countChunks(
    inflate[Symbol.asyncIterator]() as AsyncIterator<Buffer>,
    budget,
    () => {
      source.destroy();
      inflate.destroy();
    },
  );
  try {
    const first = await counter.next();
    if (first.done) return;
    if (hasZlibHeader(first.value, 0)) {
      if (layer >= maxLayers)
        throw new IngestError(
          "too_complex",
          "This PDF is compressed in more layers than can be read safely.",
          { detail: `zlib data nested more than ${maxLayers} layers deep` },
        );
      await countLayer(borrowed(first.value, counter), budget, layer + 1);
    }
    for await (const _ of counter);
  } finally {
    // Closes this layer's zlib stream whichever way the count ended.
    await counter.return();
  }
}

async function* countChunks(
  output: AsyncIterator<Buffer>,
  budget: Budget,
  close: () => void,
): AsyncGenerator<Buffer, void, undefined> {
  try {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await output.next();
      } catch (error) {
        if (error instanceof OverBudget) throw error;
        return;
      }
      if (next.done) return;
      budget.used += next.value.length;
      if (budget.used > budget.max) throw new OverBudget();
      yield next.value;
    }
  } finally {
    close();
  }
}

/**
 * `first`, then the rest of `rest`, for an inner layer to read. It has no
 * `return`, so the inner layer ending early leaves `rest` open for the outer
 * layer to finish counting.
 */
function borrowed(first: Buffer, rest: AsyncIterator<Buffer>): AsyncIterable<Buffer> {
  let firstTaken = false;
  return {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        if (firstTaken) return rest.next();
        firstTaken = true;
        return { done: false, value: first };
      },
    }),
  };
}
