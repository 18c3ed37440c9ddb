import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IngestError, chunkText, ingestDocument, pagesInRange, validateUpload } from "@/lib/ingest";
import { makePdf, reportPages } from "@/lib/ingest/testing/make-pdf";

let server: http.Server;
let base: string;
let reportPdf: Uint8Array;

beforeAll(async () => {
  reportPdf = await makePdf(reportPages(300), { title: "Annual Report" });
  server = http.createServer((req, res) => {
    if (req.url === "/report.pdf") {
      res.writeHead(200, {
        "content-type": "application/pdf",
        "content-length": String(reportPdf.length),
      });
      return res.end(reportPdf);
    }
    if (req.url === "/article") {
      res.writeHead(200, { "content-type": "text/html" });
      return res.end(
        "<html><head><title>Short article</title></head><body><p>One paragraph of text.</p></body></html>",
      );
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("ingestDocument", () => {
  it("fetches, extracts and chunks a 300-page PDF, with chunks traceable to pages", async () => {
    const progress: number[] = [];
    const doc = await ingestDocument(
      { kind: "url", url: `${base}/report.pdf` },
      {
        fetch: { allowPrivateNetworks: true },
        extract: { onProgress: ({ page }) => void progress.push(page) },
      },
    );
    expect(doc).toMatchObject({
      format: "pdf",
      title: "Annual Report",
      pageCount: 300,
      url: `${base}/report.pdf`,
    });
    expect(progress).toHaveLength(300);

    const chunks = chunkText(doc.text, { maxTokens: 1000, overlap: 200 });
    expect(chunks.length).toBeGreaterThan(5);
    const last = chunks.at(-1)!;
    expect(pagesInRange(doc.pages!, last.start, last.end)).toContain(300);
    const quoted = chunks.find((chunk) => chunk.text.includes("Page 150 of the annual report."))!;
    expect(pagesInRange(doc.pages!, quoted.start, quoted.end)).toContain(150);
  });

  it("refuses a private URL by default", async () => {
    await expect(ingestDocument({ kind: "url", url: `${base}/article` })).rejects.toMatchObject({
      code: "blocked_address",
    });
  });

  it("takes pasted text, with an optional title", async () => {
    const doc = await ingestDocument({
      kind: "text",
      text: "  Some pasted notes.  ",
      title: "My notes",
    });
    expect(doc).toMatchObject({
      format: "text",
      title: "My notes",
      text: "Some pasted notes.",
      wordCount: 3,
    });
  });

  it("takes a validated upload", async () => {
    const upload = await validateUpload({
      fileName: "guide.md",
      bytes: new TextEncoder().encode("# Guide\n\nStep one."),
    });
    const doc = await ingestDocument({
      kind: "file",
      fileName: upload.fileName,
      bytes: upload.bytes,
      contentType: upload.contentType,
    });
    expect(doc).toMatchObject({ format: "markdown", title: "Guide", fileName: "guide.md" });
  });

  it("surfaces typed errors", async () => {
    const error = await ingestDocument({ kind: "text", text: "   " }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(IngestError);
    expect((error as IngestError).code).toBe("empty_document");
  });
});
