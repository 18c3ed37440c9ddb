/**
 * File upload → the owner's library: the request body is counted as it
 * arrives and refused past the limit, the file (multipart field `file`) typed
 * by sniffing its bytes, its text extracted (PDFs in a bounded worker, see
 * lib/ingest/extract-pdf.ts), and stored as a Document of the owner. Answers
 * `{ documentId }`, which a summarize job takes as
 * `{ type: "document", documentId }`. Failures are thrown as domain or
 * ingestion errors and answered in one place (lib/http/errors.ts).
 */
import "server-only";
import { ensureOwner } from "@/lib/auth/owner";
import { ownerIdFromHeaders } from "@/lib/auth/owner-cookie";
import { DomainError } from "@/lib/errors";
import { errorResponse } from "@/lib/http/errors";
import { correlationIdOf, requireMediaType } from "@/lib/http/request";
import { extractText } from "@/lib/ingest/extract-text";
import { isIngestError } from "@/lib/ingest/errors";
import { saveDocument } from "@/lib/ingest/save-document";
import {
  readBodyWithin,
  uploadMetadataSchema,
  uploadRequestMaxBytes,
  uploadTooLargeMessage,
  validateUpload,
} from "@/lib/ingest/upload";

const notMultipart = "Send the file as multipart/form-data in a field named file.";

export async function handleUpload(req: Request): Promise<Response> {
  const correlationId = correlationIdOf(req.headers);
  try {
    return await storeUpload(req);
  } catch (error) {
    return errorResponse(error, { event: "uploads.failed", correlationId });
  }
}

async function storeUpload(req: Request): Promise<Response> {
  const ownerId = await ownerIdFromHeaders(req.headers);
  if (!ownerId) throw new DomainError("no_identity");
  // A declared length over the limit is refused unread; the count below catches the rest.
  const length = Number(req.headers.get("content-length") ?? NaN);
  if (Number.isFinite(length) && length > uploadRequestMaxBytes)
    throw new DomainError("too_large", { message: uploadTooLargeMessage });
  // Before the body is read, so a wrong type costs nothing.
  requireMediaType(req.headers, "multipart/form-data");
  let body: Uint8Array<ArrayBuffer>;
  try {
    body = await readBodyWithin(req.body, uploadRequestMaxBytes);
  } catch (error) {
    if (isIngestError(error)) throw error;
    throw new DomainError("invalid_upload", {
      message: "The file did not arrive whole. Please try again.",
      cause: error,
    });
  }
  let form: FormData;
  try {
    form = await new Response(body, {
      headers: { "content-type": req.headers.get("content-type")! },
    }).formData();
  } catch (error) {
    throw new DomainError("invalid_upload", { message: notMultipart, cause: error });
  }
  const file = form.get("file");
  if (!(file instanceof File))
    throw new DomainError("invalid_upload", { message: "Choose a file to upload." });
  const metadata = uploadMetadataSchema.safeParse({
    fileName: file.name,
    declaredType: file.type || undefined,
    size: file.size,
  });
  if (!metadata.success) {
    const issue = metadata.error.issues[0]!;
    throw new DomainError(
      issue.path[0] === "size" && file.size > 0 ? "too_large" : "invalid_upload",
      { message: issue.message },
    );
  }
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
}
