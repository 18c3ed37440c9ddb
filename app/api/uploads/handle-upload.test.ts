/** Uploads through the route handler: what is stored, and what is refused, with which status. */
import { beforeAll, describe, expect, it } from "vitest";
import { countedBody, inflateBombPdf, pageBombPdf, zlibBomb } from "@/test/ingest/hostile";
import { makePdf, reportPages } from "@/test/ingest/make-pdf";

let handleUpload: typeof import("@/app/api/uploads/handle-upload").handleUpload;
let db: typeof import("@/lib/db").db;
let cookies: typeof import("@/lib/auth/owner-cookie");

beforeAll(async () => {
  ({ handleUpload } = await import("@/app/api/uploads/handle-upload"));
  ({ db } = await import("@/lib/db"));
  cookies = await import("@/lib/auth/owner-cookie");
});

async function owner() {
  const { ownerId, value } = await cookies.newOwnerCookie();
  return { ownerId, cookie: `${cookies.OWNER_COOKIE}=${encodeURIComponent(value)}` };
}

function upload(cookie: string | null, file: File | string | null) {
  const form = new FormData();
  if (file !== null) form.set("file", file);
  return handleUpload(
    new Request("http://localhost/api/uploads", {
      method: "POST",
      headers: cookie ? { cookie } : {},
      body: form,
    }),
  );
}

describe("POST /api/uploads", () => {
  it("stores a Markdown file as the owner's document and answers its id", async () => {
    const { ownerId, cookie } = await owner();
    const response = await upload(
      cookie,
      new File(["# Vacuum notes\n\nAutovacuum removes dead tuples."], "notes.md", {
        type: "text/markdown",
      }),
    );
    expect(response.status).toBe(201);
    const body = (await response.json()) as { documentId: string; format: string };
    expect(body.format).toBe("markdown");
    const document = await db.document.findUniqueOrThrow({
      where: { id: body.documentId },
      select: { ownerId: true, filename: true, mime: true, text: true },
    });
    expect(document).toMatchObject({ ownerId, filename: "notes.md", mime: "text/markdown" });
    expect(document.text).toContain("Autovacuum removes dead tuples.");
    const again = await upload(
      cookie,
      new File(["# Vacuum notes\n\nAutovacuum removes dead tuples."], "copy.md"),
    );
    expect(again.status).toBe(200);
    expect(((await again.json()) as { documentId: string }).documentId).toBe(body.documentId);
  });

  it("reads a PDF by its bytes, whatever type the browser declared", async () => {
    const { cookie } = await owner();
    const pdf = await makePdf(reportPages(3), { title: "Annual report" });
    const response = await upload(
      cookie,
      new File([Buffer.from(pdf)], "report.bin", { type: "application/octet-stream" }),
    );
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({
      title: "Annual report",
      format: "pdf",
      pages: 3,
    });
  });

  it("refuses binaries, empty files, missing files and strangers", async () => {
    const { cookie } = await owner();
    const png = new Uint8Array([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0,
      1, 0, 0, 0, 1, 8, 2, 0, 0, 0,
    ]);
    const binary = await upload(cookie, new File([png], "notes.txt", { type: "text/plain" }));
    expect(binary.status).toBe(415);
    expect(await binary.json()).toMatchObject({ error: { code: "unsupported_content_type" } });
    expect((await upload(cookie, new File([], "empty.txt"))).status).toBe(400);
    expect((await upload(cookie, "not a file")).status).toBe(400);
    expect((await upload(cookie, null)).status).toBe(400);
    expect((await upload(null, new File(["hello"], "a.txt"))).status).toBe(401);
  });

  it("refuses a body over the limit before reading it", async () => {
    const { cookie } = await owner();
    const response = await handleUpload(
      new Request("http://localhost/api/uploads", {
        method: "POST",
        headers: {
          cookie,
          "content-type": "multipart/form-data; boundary=x",
          "content-length": String(200 * 1024 * 1024),
        },
        body: "--x--",
      }),
    );
    expect(response.status).toBe(413);
  });

  describe("bodies over the limit are stopped as they arrive", () => {
    const limit = 25 * 1024 * 1024 + 64 * 1024;
    const boundary = "----dispatch-test";
    const head = new TextEncoder().encode(
      `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="big.txt"\r\ncontent-type: text/plain\r\n\r\n`,
    );

    async function send(cookie: string, headers: Record<string, string>, total: number) {
      const { stream, pulled } = countedBody(total, 64 * 1024, head);
      const response = await handleUpload(
        new Request("http://localhost/api/uploads", {
          method: "POST",
          headers: {
            cookie,
            "content-type": `multipart/form-data; boundary=${boundary}`,
            ...headers,
          },
          body: stream,
          duplex: "half",
        } as RequestInit),
      );
      return { response, pulled };
    }

    it.each([
      ["a chunked body (no Content-Length)", {}],
      ["a Content-Length that claims less than is sent", { "content-length": "1000" }],
      ["a Content-Length just under the limit", { "content-length": String(limit) }],
    ])("%s", async (_label, headers) => {
      const { cookie } = await owner();
      const { response, pulled } = await send(cookie, headers, 30 * 1024 * 1024);
      expect(response.status).toBe(413);
      expect(await response.json()).toEqual({
        error: { code: "too_large", message: "The file is larger than 25 MB." },
      });
      // Answered a few chunks past the limit (streams read ahead), not after the 30 MB on offer.
      expect(pulled.bytes).toBeLessThan(limit + 256 * 1024);
      expect(pulled.cancelled).toBe(true);
    });

    it("refuses a body that is not multipart without reading it", async () => {
      const { cookie } = await owner();
      const { stream, pulled } = countedBody(30 * 1024 * 1024);
      const response = await handleUpload(
        new Request("http://localhost/api/uploads", {
          method: "POST",
          headers: { cookie, "content-type": "application/json" },
          body: stream,
          duplex: "half",
        } as RequestInit),
      );
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: "invalid_upload" } });
      expect(pulled.bytes).toBeLessThan(256 * 1024);
    });

    it("still takes a chunked body under the limit", async () => {
      const { cookie } = await owner();
      const file = "Chunked upload.\n".repeat(4096);
      const tail = `\r\n--${boundary}--\r\n`;
      const bytes = new TextEncoder().encode(new TextDecoder().decode(head) + file + tail);
      const response = await handleUpload(
        new Request("http://localhost/api/uploads", {
          method: "POST",
          headers: { cookie, "content-type": `multipart/form-data; boundary=${boundary}` },
          body: new ReadableStream({
            start(controller) {
              for (let at = 0; at < bytes.length; at += 1000)
                controller.enqueue(bytes.slice(at, at + 1000));
              controller.close();
            },
          }),
          duplex: "half",
        } as RequestInit),
      );
      expect(response.status).toBe(201);
      expect(await response.json()).toMatchObject({ format: "text", truncated: false });
    });
  });

  describe("hostile documents get a clear answer, never a 500", () => {
    it("refuses a 10,000-page PDF", async () => {
      const { cookie } = await owner();
      const response = await upload(
        cookie,
        new File([Buffer.from(await pageBombPdf(10_000))], "pages.pdf", {
          type: "application/pdf",
        }),
      );
      expect(response.status).toBe(422);
      expect(await response.json()).toEqual({
        error: {
          code: "too_many_pages",
          message: "This PDF has 10,000 pages; at most 1,000 can be read.",
        },
      });
    }, 60_000);

    it("refuses a 200 KB PDF that unpacks to 200 MB", async () => {
      const { cookie } = await owner();
      const pdf = await inflateBombPdf(zlibBomb(200 * 1024 * 1024));
      const response = await upload(
        cookie,
        new File([Buffer.from(pdf)], "bomb.pdf", { type: "application/pdf" }),
      );
      expect(response.status).toBe(422);
      expect(await response.json()).toEqual({
        error: {
          code: "too_complex",
          message: "This PDF unpacks to more than 128 MB, more than can be read safely.",
        },
      });
    });

    it("stores documents with NUL bytes inside without them", async () => {
      const { cookie } = await owner();
      // Past the 8 KB the type sniffer looks at, so the file is taken as text.
      const padding = "<!-- " + "x".repeat(9000) + " -->";
      const html = await upload(
        cookie,
        new File(
          [
            `<html><head>${padding}<title>Null\u0000title</title></head><body><p>Body\u0000text here.</p></body></html>`,
          ],
          "page.html",
          { type: "text/html" },
        ),
      );
      expect(html.status).toBe(201);
      const stored = await db.document.findUniqueOrThrow({
        where: { id: ((await html.json()) as { documentId: string }).documentId },
        select: { title: true, text: true },
      });
      expect(stored.title).toBe("Null title");
      expect(stored.text).toContain("Bodytext here.");

      const pdf = await upload(
        cookie,
        new File([Buffer.from(await makePdf([["Some text."]], { title: "A\u0000B" }))], "t.pdf"),
      );
      expect(pdf.status).toBe(201);
      expect(await pdf.json()).toMatchObject({ title: "A B" });

      const binary = await upload(cookie, new File(["\u0000\u0000 starts with NULs"], "nul.txt"));
      expect(binary.status).toBe(415);
    });
  });
});
