/**
 * Hostile inputs for the ingest tests, generated at test time (no binaries in
 * the repository): PDFs with too many pages or streams that unpack to far
 * more than they weigh, zlib bombs, and request bodies that count how much of
 * themselves was read.
 */
import zlib from "node:zlib";
import { PDFDocument, PDFName, PDFNumber, PDFRawStream, StandardFonts } from "pdf-lib";

/** A PDF of `count` pages that share one tiny content stream. */
export async function pageBombPdf(count: number): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  for (let index = 0; index < count; index++) {
    const page = pdf.addPage([200, 200]);
    if (index === 0) page.drawText("The first of many pages.", { x: 10, y: 100, size: 10, font });
  }
  return pdf.save();
}

/**
 * zlib data that inflates to `size` bytes of `fill`, built from one
 * compressed megabyte repeated, so making a 200 MB bomb neither takes
 * 200 MB nor seconds. Each block is ended with a full flush, so it is byte
 * aligned and refers to nothing before it, and any number of copies form a
 * valid stream; the checksum is computed for the real output.
 */
export function zlibBomb(size: number, fill = 0x20): Buffer {
  const block = 1024 * 1024;
  const flushed = zlib.deflateRawSync(Buffer.alloc(block, fill), {
    finishFlush: zlib.constants.Z_FULL_FLUSH,
  });
  const count = Math.floor(size / block);
  const rest = size - count * block;
  const tail = zlib.deflateRawSync(Buffer.alloc(rest, fill));
  return Buffer.concat([
    Buffer.from([0x78, 0x9c]),
    ...Array.from({ length: count }, () => flushed),
    tail,
    adler32Trailer(size, fill),
  ]);
}

// Adler-32 of `size` copies of one byte, in closed form: a = 1 + n·f, b = n + f·n(n+1)/2 (mod 65521).
function adler32Trailer(size: number, fill: number): Buffer {
  const mod = 65521n;
  const n = BigInt(size);
  const f = BigInt(fill);
  const a = (1n + n * f) % mod;
  const b = (n + (f * n * (n + 1n)) / 2n) % mod;
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32BE(Number((b << 16n) | a));
  return trailer;
}

/**
 * A one-page PDF whose page content is `compressed` (zlib data, `layers`
 * times FlateDecode), as a decompression bomb would be: pdf.js inflates a
 * content stream whole before reading it.
 */
export async function inflateBombPdf(compressed: Buffer, layers = 1): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const page = pdf.addPage([200, 200]);
  const flate = PDFName.of("FlateDecode");
  const dict = pdf.context.obj({
    Filter: layers === 1 ? flate : Array.from({ length: layers }, () => flate),
  });
  dict.set(PDFName.of("Length"), PDFNumber.of(compressed.length));
  page.node.set(PDFName.of("Contents"), pdf.context.register(PDFRawStream.of(dict, compressed)));
  return pdf.save({ useObjectStreams: false });
}

/** zlib-compresses `data` `times` over, as a `[/FlateDecode /FlateDecode ...]` chain expects. */
export function deflateTimes(data: Buffer, times: number): Buffer {
  let result = data;
  for (let i = 0; i < times; i++) result = zlib.deflateSync(result);
  return result;
}

/**
 * A request body of `total` bytes made on demand in `chunk`-sized pieces, and
 * how many of them the reader pulled: the proof that a reader stopped early.
 */
export function countedBody(total: number, chunk = 64 * 1024, prefix = new Uint8Array()) {
  const pulled = { bytes: 0, cancelled: false };
  let sent = 0;
  const piece = new Uint8Array(chunk).fill(0x61);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === 0 && prefix.length > 0) {
        sent += prefix.length;
        pulled.bytes += prefix.length;
        return controller.enqueue(prefix);
      }
      if (sent >= total) return controller.close();
      const size = Math.min(chunk, total - sent);
      sent += size;
      pulled.bytes += size;
      controller.enqueue(piece.slice(0, size));
    },
    cancel() {
      pulled.cancelled = true;
    },
  });
  return { stream, pulled };
}
