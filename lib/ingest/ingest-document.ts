/**
 * The three ways a summarize job gets its document (a URL, pasted text, an
 * uploaded file), each down to extracted text, behind one call.
 */
import { z } from "zod";
import {
  extractText,
  type ExtractOptions,
  type ExtractedDocument,
} from "@/lib/ingest/extract-text";
import { fetchDocument, type FetchDocumentOptions } from "@/lib/ingest/fetch-document";
import { supportedContentTypes } from "@/lib/ingest/content-type";

export const documentSourceSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("url"), url: z.string().min(1).max(2048) }),
  z.object({
    kind: z.literal("text"),
    text: z.string(),
    /** Pasted text is plain unless the user says it is Markdown or HTML. */
    contentType: z.enum(["text/plain", "text/markdown", "text/html"]).default("text/plain"),
    title: z.string().max(500).optional(),
  }),
  z.object({
    kind: z.literal("file"),
    fileName: z.string().min(1).max(255),
    bytes: z.custom<Uint8Array>(
      (value) => value instanceof Uint8Array,
      "Expected the file's bytes.",
    ),
    /** The sniffed type from `validateUpload`, not the browser's claim. */
    contentType: z.enum(supportedContentTypes),
  }),
]);

export type DocumentSource = z.input<typeof documentSourceSchema>;

export interface IngestedDocument extends ExtractedDocument {
  /** Final URL after redirects, for URL sources. */
  url?: string;
  fileName?: string;
}

export async function ingestDocument(
  source: DocumentSource,
  options: { fetch?: FetchDocumentOptions; extract?: ExtractOptions } = {},
): Promise<IngestedDocument> {
  const parsed = documentSourceSchema.parse(source);
  switch (parsed.kind) {
    case "url": {
      const fetched = await fetchDocument(parsed.url, {
        signal: options.extract?.signal,
        ...options.fetch,
      });
      const document = await extractText(
        {
          bytes: fetched.bytes,
          contentType: fetched.contentType,
          charset: fetched.charset,
          fileName: fetched.fileName,
          url: fetched.url,
        },
        options.extract,
      );
      return { ...document, url: fetched.url };
    }
    case "text": {
      const document = await extractText(
        { text: parsed.text, contentType: parsed.contentType },
        options.extract,
      );
      return { ...document, title: parsed.title ?? document.title };
    }
    case "file": {
      const document = await extractText(
        { bytes: parsed.bytes, contentType: parsed.contentType, fileName: parsed.fileName },
        options.extract,
      );
      return { ...document, fileName: parsed.fileName };
    }
  }
}
