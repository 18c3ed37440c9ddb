import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chunkText, pagesInRange } from "@/lib/ingest/chunk-text";
import { downloadDocument, setDocumentNetworkPolicy } from "@/lib/ingest/download-document";
import { makePdf, reportPages } from "@/test/ingest/make-pdf";

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

describe("downloadDocument", () => {
  it("fetches and extracts a 300-page PDF, with chunks traceable to pages", async () => {
    const restore = setDocumentNetworkPolicy({ allowPrivateNetworks: true });
    try {
      const doc = await downloadDocument(`${base}/report.pdf`);
      expect(doc).toMatchObject({
        format: "pdf",
        title: "Annual Report",
        pageCount: 300,
        url: `${base}/report.pdf`,
        contentType: "application/pdf",
      });
      const chunks = chunkText(doc.text, { maxTokens: 1000, overlap: 200 });
      expect(chunks.length).toBeGreaterThan(5);
      const last = chunks.at(-1)!;
      expect(pagesInRange(doc.pages!, last.start, last.end)).toContain(300);
      const quoted = chunks.find((chunk) => chunk.text.includes("Page 150 of the annual report."))!;
      expect(pagesInRange(doc.pages!, quoted.start, quoted.end)).toContain(150);
    } finally {
      restore();
    }
  });

  it("refuses a private URL under the default policy, and again once a widened policy is restored", async () => {
    await expect(downloadDocument(`${base}/article`)).rejects.toMatchObject({
      code: "blocked_address",
    });
    const restore = setDocumentNetworkPolicy({ allowPrivateNetworks: true });
    expect((await downloadDocument(`${base}/article`)).title).toBe("Short article");
    restore();
    await expect(downloadDocument(`${base}/article`)).rejects.toMatchObject({
      code: "blocked_address",
    });
  });
});
