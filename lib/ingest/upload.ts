/**
 * Validation of uploaded documents for the tRPC/route layer: size limits, a
 * sanitised file name, and the type decided by sniffing the bytes (magic
 * numbers, then a text check), never by the declared type alone.
 *
 * Read a request body with `readBodyWithin` (it stops at the limit whatever
 * Content-Length claimed), check `uploadMetadataSchema` against the parsed
 * file, then `validateUpload` on the bytes.
 */
import { z } from "zod";
import {
  sniffContentType,
  supportedContentTypes,
  type SupportedContentType,
} from "@/lib/ingest/content-type";
import { IngestError } from "@/lib/ingest/errors";

export const uploadLimits = {
  maxBytes: 25 * 1024 * 1024,
  maxFileNameLength: 255,
  contentTypes: supportedContentTypes,
  /** For the file picker's `accept` attribute; the server still sniffs. */
  accept: ".pdf,.md,.markdown,.txt,.html,.htm,application/pdf,text/plain,text/markdown,text/html",
} as const;

/** Bytes an upload request may carry: the file and room for the multipart framing around it. */
export const uploadRequestMaxBytes = uploadLimits.maxBytes + 64 * 1024;

export const uploadTooLargeMessage = `The file is larger than ${uploadLimits.maxBytes / (1024 * 1024)} MB.`;

/**
 * Reads a request body, counting bytes as they arrive, and refuses it with
 * `too_large` at the first chunk past `maxBytes`, cancelling the rest unread.
 * A chunked body has no Content-Length and a declared one can lie, so the
 * bytes themselves are what is counted.
 */
export async function readBodyWithin(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<Uint8Array<ArrayBuffer>> {
  if (!body) return new Uint8Array();
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return Buffer.concat(parts, total);
      total += value.byteLength;
      if (total > maxBytes) {
        // Not awaited: a client that keeps sending must not hold up the answer.
        reader.cancel().catch(() => undefined);
        throw new IngestError("too_large", uploadTooLargeMessage, {
          detail: `body passed ${maxBytes} bytes while streaming`,
        });
      }
      parts.push(value);
    }
  } finally {
    reader.releaseLock();
  }
}

/** Keeps the base name only (some browsers send a path) and refuses control characters. */
export const uploadFileNameSchema = z
  .string()
  .transform((name) => name.split(/[\\/]/).pop()!.trim())
  .pipe(
    z
      .string()
      .min(1, "The file needs a name.")
      .max(uploadLimits.maxFileNameLength, "The file name is too long.")
      .regex(/^[^\u0000-\u001f\u007f]+$/, "The file name contains control characters."),
  );

export const uploadMetadataSchema = z.object({
  fileName: uploadFileNameSchema,
  declaredType: z.string().max(255).optional(),
  size: z
    .number()
    .int()
    .min(1, "The file is empty.")
    .max(uploadLimits.maxBytes, uploadTooLargeMessage),
});

const uploadBytesSchema = z
  .custom<Uint8Array>((value) => value instanceof Uint8Array, "Expected the file's bytes.")
  .refine((bytes) => bytes.length > 0, "The file is empty.")
  .refine((bytes) => bytes.length <= uploadLimits.maxBytes, uploadTooLargeMessage);

export const uploadedFileSchema = z
  .object({
    fileName: uploadFileNameSchema,
    declaredType: z.string().max(255).optional(),
    bytes: uploadBytesSchema,
  })
  .transform(async (file, ctx) => {
    const sniffed = await sniffContentType(file.bytes, {
      declaredType: file.declaredType,
      fileName: file.fileName,
    });
    if (!sniffed.ok) {
      ctx.addIssue({
        code: "custom",
        path: ["bytes"],
        message:
          sniffed.reason === "empty"
            ? "The file is empty."
            : "This kind of file is not supported. Upload a PDF, Markdown, plain text or HTML file.",
        params: { detected: sniffed.detected ?? sniffed.reason },
      });
      return z.NEVER;
    }
    return {
      ...file,
      size: file.bytes.length,
      contentType: sniffed.contentType as SupportedContentType,
    };
  });

export type UploadInput = z.input<typeof uploadedFileSchema>;
export type UploadedFile = z.output<typeof uploadedFileSchema>;

/** `uploadedFileSchema` with its failures as `IngestError`s (too_large, empty_document, unsupported_content_type, invalid_input). */
export async function validateUpload(input: UploadInput): Promise<UploadedFile> {
  const result = await uploadedFileSchema.safeParseAsync(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const detail = result.error.issues
    .map((entry) => `${entry.path.join(".")}: ${entry.message}`)
    .join("; ");
  if (issue.message === uploadTooLargeMessage)
    throw new IngestError("too_large", issue.message, { detail });
  if (issue.message === "The file is empty.")
    throw new IngestError("empty_document", issue.message, { detail });
  if (issue.path[0] === "bytes" && issue.code === "custom")
    throw new IngestError("unsupported_content_type", issue.message, { detail });
  throw new IngestError("invalid_input", issue.message, { detail });
}
