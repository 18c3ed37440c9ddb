/**
 * File upload → the owner's library: the request body is counted as it
 * arrives and refused past the limit, the file (multipart field `file`) typed
 * by sniffing its bytes, its text extracted (PDFs in a bounded worker, see
 * lib/ingest/extract-pdf.ts), and stored as a Document of the owner. Answers
 * `{ documentId }`, which a summarize job takes as
 * `{ type: "document", documentId }`.
 *
 * NOTE: `statusByCode` maps ingest error codes to HTTP statuses here, in the
 * route, until the app has one shared domain-error → HTTP mapping.
 */
import "server-only";
import { ensureOwner } from "@/lib/auth/owner";
import { ownerIdFromHeaders } from "@/lib/auth/owner-cookie";
import { extractText } from "@/lib/ingest/extract-text";
import { isIngestError, type IngestErrorCode } from "@/lib/ingest/errors";
import {
  readBodyWithin,
  uploadMetadataSchema,
  uploadRequestMaxBytes,
  uploadTooLargeMessage,
  validateUpload,
} from "@/lib/ingest/upload";
import { saveDocument } from "@/lib/ingest/save-document";
import { logger } from "@/lib/logger";

const statusByCode: Partial<Record<IngestErrorCode, number>> = {
  too_large: 413,
  unsupported_content_type: 415,
  empty_document: 422,
  corrupt_document: 422,
  protected_document: 422,
  too_many_pages: 422,
  too_complex: 422,
  extraction_timeout: 422,
};

const notMultipart = "Send the file as multipart/form-data in a field named file.";

function failure(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}

export async function handleUpload(req: Request): Promise<Response> {
  const ownerId = await ownerIdFromHeaders(req.headers);
  if (!ownerId)
    return failure(
      401,
      "unauthorized",
      "This browser has no Dispatch identity yet. Reload the page.",
    );
  // A declared length over the limit is refused unread; the count below catches the rest.
  const length = Number(req.headers.get("content-length") ?? NaN);
  if (Number.isFinite(length) && length > uploadRequestMaxBytes)
    return failure(413, "too_large", uploadTooLargeMessage);
  const contentType = req.headers.get("content-type") ?? "";
  if (!/^multipart\/form-data\s*;/i.test(contentType))
    return failure(400, "invalid_upload", notMultipart);
  let body: Uint8Array<ArrayBuffer>;
  try {
    body = await readBodyWithin(req.body, uploadRequestMaxBytes);
  } catch (error) {
    if (isIngestError(error)) return failure(413, error.code, error.message);
    logger.warn("uploads.body_failed", { ownerId, error });
    return failure(400, "invalid_upload", "The file did not arrive whole. Please try again.");
  }
  let form: FormData;
  try {
    form = await new Response(body, {
      headers: { "content-type": contentType },
    }).formData();
  } catch {
    return failure(400, "invalid_upload", notMultipart);
  }
  const file = form.get("file");
  if (!(file instanceof File)) return failure(400, "invalid_upload", "Choose a file to upload.");
  const metadata = uploadMetadataSchema.safeParse({
    fileName: file.name,
    declaredType: file.type || undefined,
    size: file.size,
  });
  if (!metadata.success) {
    const issue = metadata.error.issues[0]!;
    return failure(
      issue.path[0] === "size" && file.size > 0 ? 413 : 400,
      "invalid_upload",
      issue.message,
    );
  }
  try {
    const upload = await validateUpload({
      fileName: metadata.data.fileName,
      declaredType: metadata.data.declaredType,
      bytes: new Uint8Array(await file.arrayBuffer()),
    });
    const extracted = await extractText({
      bytes: upload.bytes,
      contentType: upload.contentType,
      fileName: upload.fileName,
    });
    await ensureOwner(ownerId);
    const title = extracted.title ?? upload.fileName.replace(/\.[a-z0-9]{1,8}$/i, "");
    const { id, created } = await saveDocument({
      ownerId,
      title,
      text: extracted.text,
      mime: upload.contentType,
      filename: upload.fileName,
    });
    return Response.json(
      {
        documentId: id,
        title,
        format: extracted.format,
        pages: extracted.pageCount ?? null,
        words: extracted.wordCount,
        truncated: extracted.truncated,
      },
      { status: created ? 201 : 200 },
    );
  } catch (error) {
    if (isIngestError(error))
      return failure(statusByCode[error.code] ?? 400, error.code, error.message);
    logger.error("uploads.failed", { ownerId, error });
    return failure(500, "upload_failed", "The file could not be stored. Please try again.");
  }
}
