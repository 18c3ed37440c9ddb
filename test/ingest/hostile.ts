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
export function inflateBombPdf(compressed: Buffer, layers = 1): Promise<Uint8Array> {
  return onePagePdf(
    compressed,
    Array.from({ length: layers }, () => "FlateDecode"),
  );
}

/** A one-page PDF whose content is an LZW stream of `size` spaces (see `lzwBomb`). */
export function lzwBombPdf(size: number): Promise<Uint8Array> {
  return onePagePdf(lzwBomb(size), ["LZWDecode"]);
}

async function onePagePdf(data: Buffer, filters: string[]): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const page = pdf.addPage([200, 200]);
  const names = filters.map((filter) => PDFName.of(filter));
  const dict = pdf.context.obj({ Filter: names.length === 1 ? names[0]! : names });
  dict.set(PDFName.of("Length"), PDFNumber.of(data.length));
  page.node.set(PDFName.of("Contents"), pdf.context.register(PDFRawStream.of(dict, data)));
  return pdf.save({ useObjectStreams: false });
}

/**
 * LZW data (as PDF's LZWDecode reads it: MSB first, EarlyChange 1) that
 * decodes to at least `size` spaces. For a run of one byte each new code
 * stands for one byte more than the last, so a table's worth of codes (about
 * 5.7 KB) decodes to about 7 MB: a ratio zlib cannot reach, and data that the
 * zlib count before extraction does not see.
 */
export function lzwBomb(size: number): Buffer {
  const bytes: number[] = [];
  let bitBuffer = 0;
  let bitCount = 0;
  const write = (code: number, width: number) => {
    bitBuffer = (bitBuffer << width) | code;
    bitCount += width;
    while (bitCount >= 8) {
      bytes.push((bitBuffer >>> (bitCount - 8)) & 0xff);
      bitCount -= 8;
    }
    bitBuffer &= (1 << bitCount) - 1;
  };
  const space = 0x20;
  let width = 9;
  let produced = 0;
  while (produced < size) {
    write(256, width); // clear: the decoder starts a new table at 9 bits
    width = 9;
    write(space, width);
    produced += 1;
    let length = 1;
    for (let code = 258; code < 4094 && produced < size; code++) {
      write(code, width);
      length++;
      produced += length;
      // The decoder widens its codes as the table fills, one code early (EarlyChange 1).
      const nextCode = code + 1;
      if (((nextCode + 1) & nextCode) === 0) width = Math.min(width + 1, 12);
    }
  }
  write(257, width); // end of data
  if (bitCount > 0) bytes.push((bitBuffer << (8 - bitCount)) & 0xff);
  return Buffer.from(bytes);
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
