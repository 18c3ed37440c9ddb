/**
 * File upload → the owner's library: the file (multipart field `file`) is
 * checked for size before it is read, typed by sniffing its bytes, its text
 * extracted, and stored as a Document of the owner. Answers `{ documentId }`,
 * which a summarize job takes as `{ type: "document", documentId }`.
 * Failures are thrown as domain or ingestion errors and answered in one
 * place (lib/http/errors.ts).
 */
import "server-only";
import { ensureOwner } from "@/lib/auth/owner";
import { ownerIdFromHeaders } from "@/lib/auth/owner-cookie";
import { DomainError } from "@/lib/errors";
import { errorResponse } from "@/lib/http/errors";
import { correlationIdOf, requireMediaType } from "@/lib/http/request";
import { extractText } from "@/lib/ingest/extract-text";
import { uploadLimits, uploadMetadataSchema, validateUpload } from "@/lib/ingest/upload";
import { saveDocument } from "@/lib/search/documents";

// Room for the multipart framing around the file itself.
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

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
  const length = Number(req.headers.get("content-length") ?? NaN);
  if (Number.isFinite(length) && length > uploadLimits.maxBytes + MULTIPART_OVERHEAD_BYTES) {
    throw new DomainError("too_large", {
      message: `The file is larger than ${uploadLimits.maxBytes / (1024 * 1024)} MB.`,
    });
  }
  requireMediaType(req.headers, "multipart/form-data");
  let form: FormData;
  try {
    form = await req.formData();
  } catch (error) {
    throw new DomainError("invalid_upload", {
      message: "Send the file as multipart/form-data in a field named file.",
      cause: error,
    });
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
      {
        message: issue.message,
      },
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
