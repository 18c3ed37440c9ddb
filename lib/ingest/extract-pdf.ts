/**
 * Page-by-page PDF text extraction with pdf.js (the serverless build bundled
 * by `unpdf`: no worker file, no canvas, no downloads).
 *
 * Pages are read one at a time and released with `page.cleanup()`, so memory
 * stays flat on long documents; progress is reported after each page.
 *
 * NOTE: pdf.js parses on the calling thread. The deadline and the abort signal
 * are checked between pages and around each pdf.js call, which bounds
 * well-formed but huge files; a single pathological page could still hold the
 * thread until pdf.js yields.
 */
import { getDocumentProxy } from "unpdf";
import { IngestError } from "@/lib/ingest/errors";
import { normaliseWhitespace } from "@/lib/ingest/normalise";

export interface PageSpan {
  /** 1-based page number. */
  page: number;
  /** Offsets of the page's text in the extracted text (end exclusive). */
  start: number;
  end: number;
}

export interface PdfExtraction {
  title: string | null;
  text: string;
  pages: PageSpan[];
  pageCount: number;
  truncated: boolean;
}

export interface PdfOptions {
  maxChars: number;
  maxPages: number;
  deadline: number;
  signal: AbortSignal | undefined;
  onProgress: ((progress: { page: number; pages: number }) => void | Promise<void>) | undefined;
}

interface TextItemLike {
  str?: string;
  hasEOL?: boolean;
}

export async function extractPdf(bytes: Uint8Array, options: PdfOptions): Promise<PdfExtraction> {
  // pdf.js transfers (detaches) the buffer it is given; the caller keeps its own.
  const data = new Uint8Array(bytes);
  let document: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    document = await guard(
      () =>
        getDocumentProxy(data, {
          verbosity: 0,
          disableFontFace: true,
          useSystemFonts: false,
          stopAtErrors: false,
        }),
      options,
    );
  } catch (error) {
    throw asPdfError(error);
  }

  try {
    const pageCount = document.numPages;
    const title = await guard(() => document.getMetadata(), options)
      .then((meta) => {
        const value = (meta.info as { Title?: unknown } | undefined)?.Title;
        return typeof value === "string" && value.trim()
          ? value.replace(/\s+/g, " ").trim().slice(0, 500)
          : null;
      })
      .catch(() => null);

    const pages: PageSpan[] = [];
    const parts: string[] = [];
    let length = 0;
    let truncated = pageCount > options.maxPages;
    const lastPage = Math.min(pageCount, options.maxPages);
    for (let number = 1; number <= lastPage; number++) {
      const page = await guard(() => document.getPage(number), options);
      let pageText: string;
      try {
        const content = await guard(() => page.getTextContent(), options);
        pageText = normaliseWhitespace(
          (content.items as TextItemLike[])
            .map((item) => (item.str ?? "") + (item.hasEOL ? "\n" : ""))
            .join(""),
          { collapseSpaces: true },
        );
      } finally {
        page.cleanup();
      }
      if (pageText) {
        const separator = parts.length > 0 ? 2 : 0;
        if (length + separator + pageText.length > options.maxChars) {
          truncated = true;
          break;
        }
        if (separator) parts.push("\n\n");
        pages.push({
          page: number,
          start: length + separator,
          end: length + separator + pageText.length,
        });
        parts.push(pageText);
        length += separator + pageText.length;
      }
      await options.onProgress?.({ page: number, pages: lastPage });
    }
    return { title, text: parts.join(""), pages, pageCount, truncated };
  } catch (error) {
    throw asPdfError(error);
  } finally {
    // NOTE: pdf.js 5 destroys a document through its loading task.
    await document.loadingTask.destroy().catch(() => undefined);
  }
}

// Races a pdf.js call against the deadline and the caller's signal; the call is
// not started once either has passed.
async function guard<T>(
  start: () => Promise<T>,
  options: Pick<PdfOptions, "deadline" | "signal">,
): Promise<T> {
  checkStop(options);
  const promise = start();
  // If the stop wins, pdf.js rejects the abandoned call when the document is destroyed.
  promise.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError()), Math.max(0, options.deadline - Date.now()));
    onAbort = () => reject(abortedError());
    options.signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort) options.signal?.removeEventListener("abort", onAbort);
  }
}

function checkStop(options: Pick<PdfOptions, "deadline" | "signal">): void {
  if (options.signal?.aborted) throw abortedError();
  if (Date.now() >= options.deadline) throw timeoutError();
}

function timeoutError(): IngestError {
  return new IngestError("timeout", "Reading the PDF took too long.");
}

function abortedError(): IngestError {
  return new IngestError("aborted", "Reading the document was cancelled.");
}

function asPdfError(error: unknown): IngestError {
  if (error instanceof IngestError) return error;
  const name = error instanceof Error ? error.name : "";
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (name === "PasswordException") {
    return new IngestError("protected_document", "This PDF is password-protected.", {
      detail,
      cause: error,
    });
  }
  return new IngestError(
    "corrupt_document",
    "This PDF could not be read; the file may be damaged.",
    { detail, cause: error },
  );
}
