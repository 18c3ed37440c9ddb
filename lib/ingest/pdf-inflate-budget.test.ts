/** The decompression-bomb check on raw PDF bytes: what it counts, and the tricks it must see through. */
import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { IngestError } from "@/lib/ingest/errors";
import { checkInflatedSize } from "@/lib/ingest/pdf-inflate-budget";
import { deflateTimes, zlibBomb } from "@/test/ingest/hostile";
import { makePdf, reportPages } from "@/test/ingest/make-pdf";

const megabyte = 1024 * 1024;

// A PDF-shaped byte string: each part becomes an indirect object holding one stream.
function withStreams(...streams: Buffer[]): Buffer {
  return Buffer.concat([
    Buffer.from("%PDF-1.7\n"),
    ...streams.flatMap((data, index) => [
      Buffer.from(
        `${index + 1} 0 obj\n<< /Length ${data.length} /Filter /FlateDecode >>\nstream\r\n`,
      ),
      data,
      Buffer.from("\nendstream\nendobj\n"),
    ]),
    Buffer.from("%%EOF\n"),
  ]);
}

async function refusal(promise: Promise<unknown>): Promise<IngestError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(IngestError);
  return error as IngestError;
}

describe("checkInflatedSize", () => {
  it("counts the inflated size of every zlib stream, and skips other data", async () => {
    const pdf = withStreams(
      zlib.deflateSync(Buffer.alloc(3000, 0x61)),
      Buffer.from("BT (not compressed) Tj ET"),
      zlib.deflateSync(Buffer.alloc(200_000, 0x62)),
    );
    expect(await checkInflatedSize(pdf, { maxBytes: megabyte })).toBe(203_000);
  });

  it("measures a real document well under the default limit", async () => {
    const size = await checkInflatedSize(await makePdf(reportPages(50)), {
      maxBytes: 128 * megabyte,
    });
    expect(size).toBeGreaterThan(0);
    expect(size).toBeLessThan(megabyte);
  });

  it("refuses once the total passes the limit, across streams", async () => {
    const part = zlib.deflateSync(Buffer.alloc(400 * 1024));
    expect(await checkInflatedSize(withStreams(part, part), { maxBytes: megabyte })).toBe(
      800 * 1024,
    );
    const error = await refusal(
      checkInflatedSize(withStreams(part, part, part), { maxBytes: megabyte }),
    );
    expect(error.code).toBe("too_complex");
    expect(error.message).toBe("This PDF unpacks to more than 1 MB, more than can be read safely.");
  });

  it("stops a 200 MB bomb at the limit", async () => {
    const error = await refusal(
      checkInflatedSize(withStreams(zlibBomb(200 * megabyte)), { maxBytes: 8 * megabyte }),
    );
    expect(error.code).toBe("too_complex");
  });

  it("is not fooled by an `endstream` hidden inside the compressed data", async () => {
    // A stored (uncompressed) deflate block can carry any bytes, `endstream` included.
    const decoy = zlib.deflateRawSync(Buffer.from("\nendstream\nendobj\n"), {
      level: 0,
      finishFlush: zlib.constants.Z_FULL_FLUSH,
    });
    const bomb = zlibBomb(4 * megabyte);
    const disguised = Buffer.concat([bomb.subarray(0, 2), decoy, bomb.subarray(2)]);
    expect(disguised.includes("endstream")).toBe(true);
    const error = await refusal(
      checkInflatedSize(withStreams(disguised), { maxBytes: 2 * megabyte }),
    );
    expect(error.code).toBe("too_complex");
  });

  it("counts every layer of a nested stream, including what follows an inner stream's end", async () => {
    // Two layers: 3 MB inside, about 3 KB outside.
    const nested = deflateTimes(zlibBomb(3 * megabyte), 1);
    expect(
      await checkInflatedSize(withStreams(nested), { maxBytes: 4 * megabyte }),
    ).toBeGreaterThan(3 * megabyte);
    expect(
      (await refusal(checkInflatedSize(withStreams(nested), { maxBytes: 2 * megabyte }))).code,
    ).toBe("too_complex");
    // The outer layer holds a tiny zlib stream and then 3 MB more: pdf.js decodes all of the
    // outer layer, so all of it counts even though the inner stream ends early.
    const padded = zlib.deflateSync(
      Buffer.concat([zlib.deflateSync(Buffer.from("tiny")), Buffer.alloc(3 * megabyte)]),
    );
    expect(
      (await refusal(checkInflatedSize(withStreams(padded), { maxBytes: 2 * megabyte }))).code,
    ).toBe("too_complex");
  });

  it("refuses zlib data nested deeper than any real file", async () => {
    const deep = deflateTimes(Buffer.from("deep"), 6);
    const error = await refusal(checkInflatedSize(withStreams(deep), { maxBytes: megabyte }));
    expect(error.code).toBe("too_complex");
    expect(error.message).toMatch(/layers/);
  });

  it("counts what inflates before damaged data, without failing", async () => {
    const whole = zlib.deflateSync(Buffer.alloc(500_000, 0x63));
    const truncated = whole.subarray(0, Math.floor(whole.length / 2));
    const size = await checkInflatedSize(withStreams(truncated), { maxBytes: megabyte });
    expect(size).toBeGreaterThan(0);
    expect(size).toBeLessThanOrEqual(500_000);
  });

  it("stops when the caller's signal aborts", async () => {
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    const part = zlib.deflateSync(Buffer.alloc(10));
    await expect(
      checkInflatedSize(withStreams(part), { maxBytes: megabyte, signal: controller.signal }),
    ).rejects.toThrow("stop");
  });

  it("refuses a file stuffed with more zlib streams than allowed", async () => {
    const tiny = zlib.deflateSync(Buffer.from("q Q"));
    const streams = Array.from({ length: 11 }, () => tiny);
    expect(
      await checkInflatedSize(withStreams(...streams.slice(1)), {
        maxBytes: megabyte,
        maxStreams: 10,
      }),
    ).toBe(30);
    const error = await refusal(
      checkInflatedSize(withStreams(...streams), { maxBytes: megabyte, maxStreams: 10 }),
    );
    expect(error.code).toBe("too_complex");
    expect(error.message).toBe("This PDF has more compressed parts than can be read safely.");
  });

  it("lets the event loop turn while it works through many streams", async () => {
    const tiny = zlib.deflateSync(Buffer.from("q Q"));
    const pdf = withStreams(...Array.from({ length: 2000 }, () => tiny));
    let turns = 0;
    let done = false;
    const turn = () => {
      turns++;
      if (!done) setImmediate(turn);
    };
    setImmediate(turn);
    expect(await checkInflatedSize(pdf, { maxBytes: megabyte })).toBe(6000);
    done = true;
    expect(turns).toBeGreaterThanOrEqual(10);
  });

  it("finds data after a line end however far away, in one pass over many keywords", async () => {
    // Spaces before the line end do not hide a stream from the count...
    const hidden = Buffer.concat([
      Buffer.from("1 0 obj\n<< /Filter /FlateDecode >>\nstream" + " ".repeat(5000) + "\r\n"),
      zlib.deflateSync(Buffer.alloc(300_000)),
    ]);
    expect(await checkInflatedSize(hidden, { maxBytes: megabyte })).toBe(300_000);
    // ...and 4 MB of keywords with no line end after them are read once, not once per keyword.
    const keywords = Buffer.from("stream".repeat(700_000));
    expect(await checkInflatedSize(keywords, { maxBytes: megabyte })).toBe(0);
  });
});
