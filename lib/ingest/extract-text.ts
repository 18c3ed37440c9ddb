/**
 * One entry point from a downloaded or uploaded document (or pasted text) to
 * normalised plain text with a title, its format, page offsets for PDFs and a
 * word count. Every failure is an `IngestError`; nothing here throws anything
 * else for bad input.
 */
import { z } from "zod";
import { parseContentType } from "@/lib/ingest/content-type";
import { IngestError } from "@/lib/ingest/errors";
import { extractHtml } from "@/lib/ingest/extract-html";
import { extractPdf, type PageSpan } from "@/lib/ingest/extract-pdf";
import {
  capText,
  cleanTitle,
  countWords,
  decodeText,
  normaliseWhitespace,
} from "@/lib/ingest/normalise";

export type { PageSpan } from "@/lib/ingest/extract-pdf";

export const documentFormats = ["html", "pdf", "markdown", "text"] as const;
export type DocumentFormat = (typeof documentFormats)[number];

export const extractDefaults = {
  /** About 500k tokens: far more than a summary needs, far less than memory allows. */
  maxChars: 2_000_000,
  /** A PDF with more pages is refused (`too_many_pages`); pdf.js reads about 250 pages a second here. */
  maxPages: 1_000,
  /** A PDF whose compressed streams unpack to more is refused (`too_complex`). */
  maxInflatedBytes: 128 * 1024 * 1024,
  /**
   * Memory of the worker that reads a PDF, for its V8 heap and again for its
   * ArrayBuffers (`too_complex` past either). A 1,000-page report is read
   * well within it; at a fifth of it pdf.js spends most of its time collecting garbage.
   */
  maxMemoryMb: 256,
  /** Reading a PDF for longer fails with `extraction_timeout`; the upload route allows 120 s in all. */
  timeoutMs: 60_000,
} as const;

export const extractInputSchema = z
  .object({
    bytes: z
      .custom<Uint8Array>((value) => value instanceof Uint8Array, "Expected bytes")
      .optional(),
    text: z.string().optional(),
    /** A Content-Type value; parameters such as `charset` are honoured. */
    contentType: z.string().min(1),
    /** Overrides the charset parameter of `contentType`. */
    charset: z.string().optional(),
    fileName: z.string().optional(),
    url: z.string().optional(),
  })
  .refine((input) => (input.bytes === undefined) !== (input.text === undefined), {
    message: "Pass exactly one of bytes or text.",
  });

export type ExtractInput = z.input<typeof extractInputSchema>;

/** Defaults in `extractDefaults`; every bound but `maxChars` applies to PDFs only. */
export interface ExtractOptions {
  maxChars?: number;
  maxPages?: number;
  maxInflatedBytes?: number;
  maxMemoryMb?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called after each PDF page, so a long extraction can report progress. */
  onProgress?: (progress: { page: number; pages: number }) => void | Promise<void>;
}

export interface ExtractedDocument {
  title: string | null;
  text: string;
  format: DocumentFormat;
  /** PDFs only: where each page's text lies in `text`, for citations. */
  pages?: PageSpan[];
  /** PDFs only: pages in the file. */
  pageCount?: number;
  wordCount: number;
  /** True when the text was cut at `maxChars`. */
  truncated: boolean;
}

export function formatFor(contentType: string, fileName?: string): DocumentFormat | undefined {
  const { essence } = parseContentType(contentType);
  if (essence === "text/html" || essence === "application/xhtml+xml") return "html";
  if (essence === "application/pdf") return "pdf";
  if (essence === "text/markdown") return "markdown";
  if (essence === "text/plain")
    return fileName && /\.(md|markdown|mdown|mkd)$/i.test(fileName) ? "markdown" : "text";
  return undefined;
}

export async function extractText(
  input: ExtractInput,
  options: ExtractOptions = {},
): Promise<ExtractedDocument> {
  const parsed = extractInputSchema.safeParse(input);
  if (!parsed.success)
    throw new IngestError("empty_document", "No document was given.", {
      detail: parsed.error.message,
    });
  const { bytes, text: givenText, contentType, fileName, url } = parsed.data;
  const format = formatFor(contentType, fileName);
  if (!format) {
    throw new IngestError(
      "unsupported_content_type",
      "This kind of document is not supported. Use a web page, a PDF, Markdown or plain text.",
      {
        detail: contentType,
      },
    );
  }
  const maxChars = options.maxChars ?? extractDefaults.maxChars;
  const charset = parsed.data.charset ?? parseContentType(contentType).charset;
  const fallbackTitle =
    titleFromName(fileName) ?? titleFromName(url ? safePathName(url) : undefined);

  if (format === "pdf") {
    if (!bytes) throw new IngestError("corrupt_document", "A PDF has to be given as bytes.");
    if (bytes.length === 0) throw emptyDocument();
    const pdf = await extractPdf(bytes, {
      maxChars,
      maxPages: options.maxPages ?? extractDefaults.maxPages,
      maxInflatedBytes: options.maxInflatedBytes ?? extractDefaults.maxInflatedBytes,
      maxMemoryMb: options.maxMemoryMb ?? extractDefaults.maxMemoryMb,
      deadline: Date.now() + (options.timeoutMs ?? extractDefaults.timeoutMs),
      signal: options.signal,
      onProgress: options.onProgress,
    });
    if (!pdf.text)
      throw new IngestError(
        "empty_document",
        "This PDF has no extractable text; it may contain only scanned images.",
      );
    return {
      title: pdf.title ?? fallbackTitle,
      text: pdf.text,
      format,
      pages: pdf.pages,
      pageCount: pdf.pageCount,
      wordCount: countWords(pdf.text),
      truncated: pdf.truncated,
    };
  }

  if (options.signal?.aborted)
    throw new IngestError("aborted", "Reading the document was cancelled.");
  // Decoding and parsing far more than is kept only costs memory, so the input
  // is cut first (HTML markup gets a generous margin; parsers close what a cut
  // leaves open).
  const budget = format === "html" ? maxChars * 8 : maxChars * 4;
  const inputCut = (bytes?.length ?? givenText!.length) > budget;
  const raw =
    givenText?.slice(0, budget) ??
    decodeText(bytes!.subarray(0, budget), { charset, html: format === "html" });

  let title: string | null;
  let text: string;
  if (format === "html") {
    const html = extractHtml(raw);
    title = html.title ?? fallbackTitle;
    text = html.text;
  } else {
    text = normaliseWhitespace(raw);
    title = (format === "markdown" ? markdownTitle(text) : null) ?? fallbackTitle;
  }
  if (!text) throw emptyDocument();
  const capped = capText(text, maxChars);
  return {
    title,
    text: capped.text,
    format,
    wordCount: countWords(capped.text),
    truncated: capped.truncated || inputCut,
  };
}

function emptyDocument(): IngestError {
  return new IngestError("empty_document", "The document contains no text.");
}

function markdownTitle(text: string): string | null {
  const heading = /^#\s+(.+?)\s*#*\s*$/m.exec(text.slice(0, 4096));
  return heading ? heading[1]!.slice(0, 500) : null;
}

function titleFromName(name: string | undefined): string | null {
  const base = name
    ?.split(/[\\/]/)
    .pop()
    ?.replace(/\.[a-z0-9]{1,8}$/i, "");
  return cleanTitle(base);
}

function safePathName(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).pathname.split("/").pop() ?? "");
  } catch {
    return undefined;
  }
}
