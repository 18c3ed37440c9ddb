import { describe, expect, it } from "vitest";
import { IngestError } from "@/lib/ingest/errors";
import { makePdf } from "@/test/ingest/make-pdf";
import { uploadLimits, uploadMetadataSchema, validateUpload } from "@/lib/ingest/upload";

const encode = (text: string) => new TextEncoder().encode(text);

async function failure(promise: Promise<unknown>): Promise<IngestError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(IngestError);
    return error as IngestError;
  }
  throw new Error("expected the upload to be refused");
}

const png = Uint8Array.from([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
  0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
  0x89,
]);
const zip = Uint8Array.from([
  0x50,
  0x4b,
  0x03,
  0x04,
  0x14,
  0x00,
  0x00,
  0x00,
  0x08,
  0x00,
  ...new Array(40).fill(0),
]);
const exe = Uint8Array.from([
  0x4d,
  0x5a,
  0x90,
  0x00,
  0x03,
  0x00,
  0x00,
  0x00,
  0x04,
  0x00,
  ...new Array(120).fill(0),
]);

describe("validateUpload", () => {
  it("identifies a PDF by its bytes whatever was declared", async () => {
    const bytes = await makePdf([["Hello"]]);
    const file = await validateUpload({ fileName: "notes.txt", declaredType: "text/plain", bytes });
    expect(file).toMatchObject({
      contentType: "application/pdf",
      size: bytes.length,
      fileName: "notes.txt",
    });
  });

  it.each([
    ["an image declared as a PDF", png, "application/pdf", "scan.pdf"],
    ["a zip declared as Markdown", zip, "text/markdown", "readme.md"],
    ["an executable declared as text", exe, "text/plain", "notes.txt"],
    [
      "binary junk declared as text",
      Uint8Array.from({ length: 512 }, (_, i) => (i * 37) % 256),
      "text/plain",
      "data.txt",
    ],
    ["plain XML", encode('<?xml version="1.0"?><feed><entry/></feed>'), "text/plain", "feed.txt"],
  ])("refuses %s", async (_label, bytes, declaredType, fileName) => {
    const error = await failure(validateUpload({ fileName, declaredType, bytes }));
    expect(error.code).toBe("unsupported_content_type");
    expect(error.message).toMatch(/not supported/);
  });

  it("tells text flavours apart by content first, then by declared type and extension", async () => {
    const html = await validateUpload({
      fileName: "page.txt",
      bytes: encode("<!DOCTYPE html><html><body>Hi</body></html>"),
    });
    expect(html.contentType).toBe("text/html");
    const xhtml = await validateUpload({
      fileName: "page.xhtml",
      bytes: encode(
        '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>Hi</body></html>',
      ),
    });
    expect(xhtml.contentType).toBe("application/xhtml+xml");
    expect(
      (await validateUpload({ fileName: "README.md", bytes: encode("# Title\n\ntext") }))
        .contentType,
    ).toBe("text/markdown");
    expect(
      (
        await validateUpload({
          fileName: "notes",
          declaredType: "text/markdown",
          bytes: encode("plain words"),
        })
      ).contentType,
    ).toBe("text/markdown");
    expect(
      (
        await validateUpload({
          fileName: "notes.txt",
          declaredType: "application/pdf",
          bytes: encode("plain words"),
        })
      ).contentType,
    ).toBe("text/plain");
    const utf16 = Uint8Array.from([0xff, 0xfe, 0x68, 0x00, 0x69, 0x00]);
    expect((await validateUpload({ fileName: "u16.txt", bytes: utf16 })).contentType).toBe(
      "text/plain",
    );
  });

  it("refuses empty and oversized files", async () => {
    expect(
      (await failure(validateUpload({ fileName: "empty.txt", bytes: new Uint8Array() }))).code,
    ).toBe("empty_document");
    const huge = new Uint8Array(uploadLimits.maxBytes + 1).fill(0x61);
    expect((await failure(validateUpload({ fileName: "huge.txt", bytes: huge }))).code).toBe(
      "too_large",
    );
  });

  it("keeps the base name of a path and refuses bad names", async () => {
    expect(
      (await validateUpload({ fileName: "C:\\Users\\me\\report.md", bytes: encode("x") })).fileName,
    ).toBe("report.md");
    expect((await failure(validateUpload({ fileName: "../", bytes: encode("x") }))).code).toBe(
      "invalid_input",
    );
    expect(
      (await failure(validateUpload({ fileName: "a\u0000b.txt", bytes: encode("x") }))).code,
    ).toBe("invalid_input");
  });
});

describe("uploadMetadataSchema", () => {
  it("checks the size before the body is read", () => {
    expect(uploadMetadataSchema.safeParse({ fileName: "a.pdf", size: 10 }).success).toBe(true);
    expect(uploadMetadataSchema.safeParse({ fileName: "a.pdf", size: 0 }).success).toBe(false);
    expect(
      uploadMetadataSchema.safeParse({ fileName: "a.pdf", size: uploadLimits.maxBytes + 1 })
        .success,
    ).toBe(false);
  });
});
