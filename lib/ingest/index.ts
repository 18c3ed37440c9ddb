/**
 * Document ingestion for the summarize and research jobs: fetch a URL safely,
 * extract readable text, chunk it for the map step, and validate uploads.
 * Node only (it uses node:dns and node:net); safe to call from Inngest steps,
 * route handlers and standalone scripts alike.
 *
 * Usage from an Inngest function (a sketch):
 *
 *   const doc = await step.run("load-document", async () => {
 *     const doc = await ingestDocument({ kind: "url", url }, {
 *       extract: { onProgress: ({ page, pages }) => reportProgress(page / pages) },
 *     });
 *     // Store doc.text (it can be megabytes) and return an id: step outputs are
 *     // memoized and should stay small.
 *   });
 *   const chunks = chunkText(text, { maxTokens: 1500, overlap: 200 });
 *   // chunk.start/end index into the text; pagesInRange(doc.pages, start, end)
 *   // gives the PDF pages a chunk (and so a citation) comes from.
 *
 * Errors: everything throws `IngestError` with a `code` (see errors.ts), a
 * user-safe `message`, a log-only `detail`, and `retryable`: throw Inngest's
 * `NonRetriableError` when it is false, so a blocked address or a corrupt PDF
 * fails the job at once instead of after every retry.
 *
 * Security: `fetchDocument` refuses non-http(s) schemes, credentials in URLs,
 * and any non-public address, checked inside the socket's own DNS lookup (no
 * rebinding gap) and again on every redirect. `allowPrivateNetworks` and
 * `trustedPrivateHosts` exist for tests and operator configuration and must
 * never come from user input. Uploads are typed by sniffing their bytes
 * (`validateUpload`), never by the declared type alone.
 *
 * Main API:
 * - `fetchDocument(url, options)` → `{ url, redirects, status, contentType, charset, bytes, fileName }`
 * - `extractText({ bytes | text, contentType, fileName?, url? }, { maxChars, maxPages, timeoutMs, signal, onProgress })`
 *   → `{ title, text, format, pages?, pageCount?, wordCount, truncated }`
 * - `ingestDocument({ kind: "url" | "text" | "file", ... })`: fetch + extract in one call
 * - `chunkText(text, { maxChars | maxTokens, overlap, locale })` → `{ index, text, start, end }[]`
 * - `uploadLimits`, `uploadMetadataSchema`, `uploadedFileSchema`, `validateUpload(...)`
 * - `documentUrlSchema`: the zod schema for a URL field in a tRPC input
 */
export {
  IngestError,
  isIngestError,
  ingestErrorCodes,
  type IngestErrorCode,
} from "@/lib/ingest/errors";
export { isPublicAddress } from "@/lib/ingest/address-policy";
export {
  supportedContentTypes,
  sniffContentType,
  type SupportedContentType,
} from "@/lib/ingest/content-type";
export {
  documentUrlSchema,
  fetchDefaults,
  fetchDocument,
  type FetchDocumentOptions,
  type FetchedDocument,
} from "@/lib/ingest/fetch-document";
export {
  documentFormats,
  extractDefaults,
  extractText,
  type DocumentFormat,
  type ExtractInput,
  type ExtractOptions,
  type ExtractedDocument,
  type PageSpan,
} from "@/lib/ingest/extract-text";
export {
  documentSourceSchema,
  ingestDocument,
  type DocumentSource,
  type IngestedDocument,
} from "@/lib/ingest/ingest-document";
export {
  chunkDefaults,
  chunkOptionsSchema,
  chunkText,
  estimateTokens,
  pagesInRange,
  type ChunkOptions,
  type TextChunk,
} from "@/lib/ingest/chunk-text";
export {
  uploadLimits,
  uploadMetadataSchema,
  uploadedFileSchema,
  validateUpload,
  type UploadInput,
  type UploadedFile,
} from "@/lib/ingest/upload";
