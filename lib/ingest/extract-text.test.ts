import { beforeAll, describe, expect, it, vi } from "vitest";
import { IngestError } from "@/lib/ingest/errors";
import { pdfWorkerQueue } from "@/lib/ingest/extract-pdf";
import { extractText } from "@/lib/ingest/extract-text";
import {
  deflateTimes,
  inflateBombPdf,
  lzwBombPdf,
  pageBombPdf,
  zlibBomb,
} from "@/test/ingest/hostile";
import { makePdf, reportPages } from "@/test/ingest/make-pdf";

const encode = (text: string) => new TextEncoder().encode(text);

async function failure(promise: Promise<unknown>): Promise<IngestError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(IngestError);
    return error as IngestError;
  }
  throw new Error("expected extraction to fail");
}

const paragraph = (n: number) =>
  `Paragraph ${n} explains how the storage engine keeps write-ahead logs durable across crashes, ` +
  "why checkpoints bound recovery time, and what operators should monitor to keep replicas healthy and current.";

const articlePage = `<!doctype html><html><head><title>Durability | Example Docs</title><style>p{color:red}</style></head>
<body>
  <nav><a href="/">Home</a> <a href="/about">About us</a></nav>
  <article><h1>Durability explained</h1>${[1, 2, 3, 4, 5].map((n) => `<p>${paragraph(n)}</p>`).join("\n")}</article>
  <footer>Copyright 2026 Example Corp</footer>
  <script>window.tracking = "do not extract";</script>
</body></html>`;

describe("extractText: HTML", () => {
  it("extracts the article with Readability, keeping paragraphs and dropping chrome", async () => {
    const doc = await extractText({
      bytes: encode(articlePage),
      contentType: "text/html; charset=utf-8",
    });
    expect(doc.format).toBe("html");
    expect(doc.title).toMatch(/Durability/);
    expect(doc.text).toContain(paragraph(1));
    expect(doc.text).toContain(`${paragraph(1)}\n\n${paragraph(2)}`);
    expect(doc.text).not.toContain("tracking");
    expect(doc.text).not.toContain("Copyright");
    expect(doc.text).not.toContain("color:red");
    expect(doc.wordCount).toBeGreaterThan(100);
    expect(doc.truncated).toBe(false);
  });

  it("falls back to the body text when there is no article", async () => {
    const html = `<html><head><title>Index</title><script>x()</script></head><body><ul><li>Tables</li><li>Indexes</li></ul><p>See also: <b>VACUUM</b></p></body></html>`;
    const doc = await extractText({ text: html, contentType: "text/html" });
    expect(doc.title).toBe("Index");
    expect(doc.text).toBe("Tables\nIndexes\n\nSee also: VACUUM");
  });

  it("accepts a fragment without html or body elements", async () => {
    const doc = await extractText({
      text: "<p>Just a fragment</p><p>and another</p>",
      contentType: "text/html",
    });
    expect(doc.text).toBe("Just a fragment\n\nand another");
  });

  it("keeps preformatted text as it is", async () => {
    const doc = await extractText({
      text: "<body><p>Run:</p><pre>SELECT 1\n  FROM t;</pre></body>",
      contentType: "text/html",
    });
    expect(doc.text).toContain("SELECT 1\n  FROM t;");
  });

  it("decodes a declared charset and a meta charset", async () => {
    const latin1 = Uint8Array.from([...encode("<p>caf"), 0xe9, ...encode("</p>")]);
    expect(
      (await extractText({ bytes: latin1, contentType: "text/html; charset=ISO-8859-1" })).text,
    ).toBe("café");
    const withMeta = Uint8Array.from([
      ...encode('<html><head><meta charset="windows-1252"></head><body><p>na'),
      0xef,
      ...encode("ve</p></body></html>"),
    ]);
    expect((await extractText({ bytes: withMeta, contentType: "text/html" })).text).toBe("naïve");
  });

  it("reads deep nesting and refuses hostile nesting instead of hanging", async () => {
    const nested = (depth: number) =>
      `<body>${"<div>".repeat(depth)}deep text${"</div>".repeat(depth)}</body>`;
    expect((await extractText({ text: nested(1500), contentType: "text/html" })).text).toBe(
      "deep text",
    );
    expect(
      (await failure(extractText({ text: nested(100_000), contentType: "text/html" }))).code,
    ).toBe("corrupt_document");
  });

  it("refuses a page with nothing readable", async () => {
    const error = await failure(
      extractText({
        text: "<html><body><script>only()</script></body></html>",
        contentType: "text/html",
      }),
    );
    expect(error.code).toBe("empty_document");
  });
});

describe("extractText: Markdown and plain text", () => {
  it("strips the BOM, normalises line endings and blank lines, keeps indentation", async () => {
    const md = "\uFEFF# Release notes\r\n\r\n\r\n\r\nIntro line   \r\n\r\n    code block\r\n";
    const doc = await extractText({ bytes: encode(md), contentType: "text/markdown" });
    expect(doc).toMatchObject({
      format: "markdown",
      title: "Release notes",
      text: "# Release notes\n\nIntro line\n\n    code block",
      truncated: false,
    });
  });

  it("treats a .md file served as text/plain as Markdown, and titles plain text by file name", async () => {
    expect(
      (
        await extractText({
          text: "# Hi\n\nthere",
          contentType: "text/plain",
          fileName: "notes.md",
        })
      ).format,
    ).toBe("markdown");
    const plain = await extractText({
      text: "hello world",
      contentType: "text/plain",
      fileName: "meeting-notes.txt",
    });
    expect(plain).toMatchObject({ format: "text", title: "meeting-notes", wordCount: 2 });
  });

  it("decodes UTF-16 with a byte order mark", async () => {
    const utf16 = Uint8Array.from([
      0xff,
      0xfe,
      ...Array.from("héllo").flatMap((c) => [c.charCodeAt(0), 0]),
    ]);
    expect((await extractText({ bytes: utf16, contentType: "text/plain" })).text).toBe("héllo");
  });

  it("refuses binary junk labelled text/plain", async () => {
    const junk = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256);
    expect((await failure(extractText({ bytes: junk, contentType: "text/plain" }))).code).toBe(
      "corrupt_document",
    );
  });

  it("refuses undecodable text that has no control bytes", async () => {
    const invalidUtf8 = Uint8Array.from({ length: 2048 }, (_, i) => (i % 2 === 0 ? 0xc3 : 0x28));
    expect(
      (await failure(extractText({ bytes: invalidUtf8, contentType: "text/plain" }))).code,
    ).toBe("corrupt_document");
  });

  it("refuses empty and whitespace-only documents", async () => {
    expect(
      (await failure(extractText({ bytes: new Uint8Array(), contentType: "text/plain" }))).code,
    ).toBe("empty_document");
    expect(
      (await failure(extractText({ text: " \n\t\r\n ", contentType: "text/markdown" }))).code,
    ).toBe("empty_document");
  });

  it("caps the size at a word boundary and says so", async () => {
    const doc = await extractText(
      { text: "word ".repeat(10_000), contentType: "text/plain" },
      { maxChars: 1000 },
    );
    expect(doc.truncated).toBe(true);
    expect(doc.text.length).toBeLessThanOrEqual(1000);
    expect(doc.text.endsWith("word")).toBe(true);
  });

  it("cuts an input far larger than the cap before decoding it", async () => {
    const doc = await extractText(
      { bytes: encode("many words here ".repeat(100_000)), contentType: "text/plain" },
      { maxChars: 1000 },
    );
    expect(doc.truncated).toBe(true);
    expect(doc.text.length).toBeLessThanOrEqual(1000);
    const html = await extractText(
      { text: `<p>${"text ".repeat(100_000)}</p>`, contentType: "text/html" },
      { maxChars: 1000 },
    );
    expect(html.truncated).toBe(true);
    expect(html.text.length).toBeLessThanOrEqual(1000);
  });

  it("refuses types it cannot read, and ambiguous input", async () => {
    expect(
      (await failure(extractText({ bytes: encode("x"), contentType: "image/png" }))).code,
    ).toBe("unsupported_content_type");
    expect((await failure(extractText({ contentType: "text/plain" }))).code).toBe("empty_document");
  });
});

describe("extractText: PDF", () => {
  it("extracts each page with its offsets, the title, and progress", async () => {
    const bytes = await makePdf(
      [
        ["First page, first line.", "First page, second line."],
        ["Second page text."],
        ["Third page text."],
      ],
      { title: "Quarterly Report" },
    );
    const progress: number[] = [];
    const doc = await extractText(
      { bytes, contentType: "application/pdf" },
      { onProgress: ({ page, pages }) => void progress.push(page / pages) },
    );
    expect(doc.format).toBe("pdf");
    expect(doc.title).toBe("Quarterly Report");
    expect(doc.pageCount).toBe(3);
    expect(progress).toEqual([1 / 3, 2 / 3, 1]);
    expect(doc.pages).toHaveLength(3);
    const [first, second, third] = doc.pages!;
    expect(doc.text.slice(first!.start, first!.end)).toBe(
      "First page, first line.\nFirst page, second line.",
    );
    expect(doc.text.slice(second!.start, second!.end)).toBe("Second page text.");
    expect(doc.text.slice(third!.start, third!.end)).toBe("Third page text.");
    expect(bytes.length).toBeGreaterThan(0);
  });

  it("reads a 300-page PDF page by page", async () => {
    const bytes = await makePdf(reportPages(300));
    let calls = 0;
    const doc = await extractText(
      { bytes, contentType: "application/pdf", fileName: "annual-report.pdf" },
      { onProgress: () => void calls++ },
    );
    expect(calls).toBe(300);
    expect(doc.pageCount).toBe(300);
    expect(doc.pages).toHaveLength(300);
    expect(doc.title).toBe("annual-report");
    const last = doc.pages!.at(-1)!;
    expect(doc.text.slice(last.start, last.end)).toContain("Page 300 of the annual report.");
    expect(doc.wordCount).toBeGreaterThan(300 * 20);
  });

  it("refuses a PDF with more pages than maxPages, and cuts text at maxChars", async () => {
    const bytes = await makePdf(reportPages(10));
    const pages = await failure(
      extractText({ bytes, contentType: "application/pdf" }, { maxPages: 4 }),
    );
    expect(pages.code).toBe("too_many_pages");
    expect(pages.message).toBe("This PDF has 10 pages; at most 4 can be read.");
    const byChars = await extractText({ bytes, contentType: "application/pdf" }, { maxChars: 400 });
    expect(byChars.truncated).toBe(true);
    expect(byChars.text.length).toBeLessThanOrEqual(400);
  });

  it("is cancellable between pages", async () => {
    const bytes = await makePdf(reportPages(20));
    const controller = new AbortController();
    const error = await failure(
      extractText(
        { bytes, contentType: "application/pdf" },
        {
          signal: controller.signal,
          onProgress: ({ page }) => (page === 2 ? controller.abort() : undefined),
        },
      ),
    );
    expect(error.code).toBe("aborted");
  });

  it("enforces its deadline between pages", async () => {
    const bytes = await makePdf(reportPages(5));
    const slowConsumer = () => new Promise<void>((resolve) => setTimeout(resolve, 120));
    const error = await failure(
      extractText(
        { bytes, contentType: "application/pdf" },
        { timeoutMs: 60, onProgress: slowConsumer },
      ),
    );
    expect(error.code).toBe("extraction_timeout");
    // The same file would take as long again: a job must not retry it.
    expect(error.retryable).toBe(false);
  });

  it("keeps control characters (NUL included) out of titles", async () => {
    const pdf = await makePdf([["Body text."]], { title: "Annual\u0000Report\u0007 2026" });
    expect((await extractText({ bytes: pdf, contentType: "application/pdf" })).title).toBe(
      "Annual Report 2026",
    );
    const html = await extractText({
      text: "<html><head><title>Null\u0000title</title></head><body><p>Body\u0000text.</p></body></html>",
      contentType: "text/html",
    });
    expect(html.title).toBe("Null title");
    expect(html.text).not.toContain("\u0000");
    const named = await extractText({
      bytes: encode("plain words"),
      contentType: "text/plain",
      url: "http://example.com/a%00b.txt",
    });
    expect(named.title).toBe("a b");
  });

  it("reads at most two PDFs at once; a caller waiting for a turn can give up", async () => {
    const bytes = await makePdf(reportPages(2));
    let openGate = () => {};
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    // Two extractions hold both worker slots until the gate opens.
    const holders = [1, 2].map(() =>
      extractText({ bytes, contentType: "application/pdf" }, { onProgress: () => gate }),
    );
    // Generous: a loaded machine may take seconds to get there; it is a bound, not a measurement.
    await vi.waitFor(() => expect(pdfWorkerQueue().reading).toBe(2), { timeout: 20_000 });
    const controller = new AbortController();
    const third = extractText(
      { bytes, contentType: "application/pdf" },
      { signal: controller.signal },
    );
    await vi.waitFor(() => expect(pdfWorkerQueue().waiting).toBe(1), { timeout: 20_000 });
    controller.abort();
    expect((await failure(third)).code).toBe("aborted");
    expect(pdfWorkerQueue()).toEqual({ reading: 2, waiting: 0 });
    openGate();
    for (const holder of holders) expect((await holder).pageCount).toBe(2);
    expect(pdfWorkerQueue()).toEqual({ reading: 0, waiting: 0 });
  });

  it("reports a PDF without a text layer as empty", async () => {
    const error = await failure(
      extractText({ bytes: await makePdf([[], []]), contentType: "application/pdf" }),
    );
    expect(error.code).toBe("empty_document");
    expect(error.message).toMatch(/scanned/);
  });

  it("refuses corrupt PDFs with a typed error", async () => {
    const junk = Uint8Array.from([
      ...encode("%PDF-1.7\n"),
      ...Array.from({ length: 4096 }, (_, i) => (i * 31) % 256),
    ]);
    expect((await failure(extractText({ bytes: junk, contentType: "application/pdf" }))).code).toBe(
      "corrupt_document",
    );
    expect(
      (
        await failure(
          extractText({ bytes: encode("not a pdf at all"), contentType: "application/pdf" }),
        )
      ).code,
    ).toBe("corrupt_document");
  });

  it("either recovers text from a truncated PDF or fails with a typed error", async () => {
    const whole = await makePdf(reportPages(5));
    const half = whole.slice(0, Math.floor(whole.length / 2));
    try {
      const doc = await extractText({ bytes: half, contentType: "application/pdf" });
      expect(doc.text).toContain("annual report");
    } catch (error) {
      expect(error).toBeInstanceOf(IngestError);
      expect(["corrupt_document", "empty_document"]).toContain((error as IngestError).code);
    }
  });
});

describe("extractText: hostile PDFs", () => {
  let tenThousandPages: Uint8Array;
  beforeAll(async () => {
    tenThousandPages = await pageBombPdf(10_000);
  }, 60_000);

  it("refuses a 10,000-page PDF under the default limit before reading a page", async () => {
    let pagesRead = 0;
    const error = await failure(
      extractText(
        { bytes: tenThousandPages, contentType: "application/pdf" },
        { onProgress: () => void pagesRead++ },
      ),
    );
    expect(error.code).toBe("too_many_pages");
    expect(error.message).toBe("This PDF has 10,000 pages; at most 1,000 can be read.");
    expect(pagesRead).toBe(0);
  });

  it("refuses a 200 KB PDF that unpacks to 200 MB before pdf.js decodes it", async () => {
    const bomb = zlibBomb(200 * 1024 * 1024);
    const bytes = await inflateBombPdf(bomb);
    expect(bytes.length).toBeLessThan(256 * 1024);
    const error = await failure(extractText({ bytes, contentType: "application/pdf" }));
    expect(error.code).toBe("too_complex");
    expect(error.message).toBe(
      "This PDF unpacks to more than 128 MB, more than can be read safely.",
    );
    expect(error.retryable).toBe(false);
  });

  it("counts every layer of a FlateDecode chain", async () => {
    const bytes = await inflateBombPdf(deflateTimes(zlibBomb(200 * 1024 * 1024), 1), 2);
    expect(bytes.length).toBeLessThan(16 * 1024);
    const error = await failure(extractText({ bytes, contentType: "application/pdf" }));
    expect(error.code).toBe("too_complex");
  });

  it("reads a PDF whose streams unpack to less than the limit", async () => {
    // 2 MB of spaces in the page's content: harmless, and read normally.
    const bytes = await inflateBombPdf(zlibBomb(2 * 1024 * 1024));
    const error = await failure(
      extractText({ bytes, contentType: "application/pdf" }, { maxInflatedBytes: 1024 * 1024 }),
    );
    expect(error.code).toBe("too_complex");
    const read = await failure(extractText({ bytes, contentType: "application/pdf" }));
    expect(read.code).toBe("empty_document");
  });

  it("ends the worker when an LZW bomb (unseen by the zlib count) fills its memory", async () => {
    // About 300 KB that pdf.js decodes into one 400 MB buffer, outside the V8 heap limit.
    const bytes = await lzwBombPdf(400 * 1024 * 1024);
    expect(bytes.length).toBeLessThan(512 * 1024);
    const error = await failure(extractText({ bytes, contentType: "application/pdf" }));
    expect(error.code).toBe("too_complex");
    expect(error.message).toBe("This PDF needs more memory to read than is allowed.");
    expect(error.detail).toMatch(/^Error: external memory \d+ bytes$/);
  });

  it("fails with too_complex when reading needs more memory than the worker may use", async () => {
    const error = await failure(
      extractText(
        { bytes: tenThousandPages, contentType: "application/pdf" },
        { maxMemoryMb: 16, maxPages: 20_000 },
      ),
    );
    expect(error.code).toBe("too_complex");
    expect(error.message).toBe("This PDF needs more memory to read than is allowed.");
    // The worker died, not this process: the next file is read as usual.
    const fine = await extractText({
      bytes: await makePdf([["Still here."]]),
      contentType: "application/pdf",
    });
    expect(fine.text).toBe("Still here.");
  });
});
