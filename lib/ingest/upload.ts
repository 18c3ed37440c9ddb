/**
 * Validation of uploaded documents for the tRPC/route layer: size limits, a
 * sanitised file name, and the type decided by sniffing the bytes (magic
 * numbers, then a text check), never by the declared type alone.
 *
 * Check `uploadMetadataSchema` (or `uploadLimits.maxBytes` against
 * `File.size`) before reading a body into memory; then `validateUpload` on the
 * bytes.
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

const tooLargeMessage = `The file is larger than ${uploadLimits.maxBytes / (1024 * 1024)} MB.`;

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
  size: z.number().int().min(1, "The file is empty.").max(uploadLimits.maxBytes, tooLargeMessage),
});

const uploadBytesSchema = z
  .custom<Uint8Array>((value) => value instanceof Uint8Array, "Expected the file's bytes.")
  .refine((bytes) => bytes.length > 0, "The file is empty.")
  .refine((bytes) => bytes.length <= uploadLimits.maxBytes, tooLargeMessage);

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
  if (issue.message === tooLargeMessage)
    throw new IngestError("too_large", issue.message, { detail });
  if (issue.message === "The file is empty.")
    throw new IngestError("empty_document", issue.message, { detail });
  if (issue.path[0] === "bytes" && issue.code === "custom")
    throw new IngestError("unsupported_content_type", issue.message, { detail });
  throw new IngestError("invalid_input", issue.message, { detail });
}
