/**
 * Page-by-page PDF text extraction with pdf.js, bounded in pages, unpacked
 * size, memory and time.
 *
 * - Unpacked size: the file's zlib streams are inflated and counted before
 *   pdf.js sees it (pdf-inflate-budget.ts), so a decompression bomb is refused
 *   at a known size instead of being decoded into memory.
 * - Pages: a file with more than `maxPages` pages is refused once it is opened,
 *   before any page is read.
 * - Memory and time: pdf.js runs in a worker thread (pdf-worker.mjs), one
 *   file per worker and at most `pdfWorkerLimits.concurrency` workers at once.
 *   Its V8 heap is capped by `resourceLimits`; its ArrayBuffers (where pdf.js
 *   keeps decoded streams, e.g. an LZW bomb, which the zlib count does not
 *   see) lie outside that cap, so the parent polls the worker's
 *   `external_memory` and ends it past the same limit. The deadline and the
 *   caller's signal terminate the worker too, which stops pdf.js even inside
 *   one pathological page. Everything pdf.js held is freed with the worker.
 *
 * Why a worker rather than guards on the calling thread: pdf.js parses
 * synchronously between its awaits, so a deadline checked between calls cannot
 * interrupt it, and its allocations would land on the server's own heap.
 * Starting a worker and loading pdf.js into it costs 0.1–0.2 s per file
 * (measured on two busy cores), small beside reading one; a worker per file
 * (not a pool) keeps one file's leftovers and limits from the next.
 */
import { Worker } from "node:worker_threads";
import { z } from "zod";
import { IngestError } from "@/lib/ingest/errors";
import { cleanTitle, normaliseWhitespace } from "@/lib/ingest/normalise";
import { checkInflatedSize } from "@/lib/ingest/pdf-inflate-budget";

export const pdfWorkerLimits = {
  maxYoungGenerationSizeMb: 32,
  /**
   * How often the worker's ArrayBuffer memory is read. pdf.js grows a decoded
   * stream by doubling, so memory can pass the limit by one doubling at most
   * before the poll sees it.
   */
  memoryPollMs: 50,
  /** Workers (and so PDFs being read) at once in this process; more wait their turn. */
  concurrency: 2,
} as const;

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
  /** Bound on the inflated size of the file's compressed streams. */
  maxInflatedBytes: number;
  /** The worker's V8 heap limit (old generation), and separately its ArrayBuffer limit, in MB. */
  maxMemoryMb: number;
  deadline: number;
  signal: AbortSignal | undefined;
  onProgress: ((progress: { page: number; pages: number }) => void | Promise<void>) | undefined;
}

const workerMessageSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("opened"),
    pageCount: z.number().int().min(0),
    title: z.string().nullable(),
  }),
  z.object({ type: z.literal("page"), page: z.number().int().min(1), text: z.string() }),
  z.object({ type: z.literal("failed"), name: z.string(), message: z.string() }),
]);
type WorkerMessage = z.infer<typeof workerMessageSchema>;

class DeadlinePassed extends Error {}
class MemoryLimitReached extends Error {}

export async function extractPdf(bytes: Uint8Array, options: PdfOptions): Promise<PdfExtraction> {
  const stop = new AbortController();
  const timer = setTimeout(
    () => stop.abort(new DeadlinePassed()),
    Math.max(0, options.deadline - Date.now()),
  );
  const onAbort = () => stop.abort(options.signal?.reason);
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await checkInflatedSize(bytes, { maxBytes: options.maxInflatedBytes, signal: stop.signal });
    const release = await workerSlot(stop.signal);
    try {
      return await readInWorker(bytes, options, stop.signal);
    } finally {
      release();
    }
  } catch (error) {
    throw asPdfError(error, stop.signal, options);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

async function readInWorker(
  bytes: Uint8Array,
  options: PdfOptions,
  stop: AbortSignal,
): Promise<PdfExtraction> {
  stop.throwIfAborted();
  // The worker gets its own copy; transferring it leaves the caller's bytes intact.
  const copy = new Uint8Array(bytes);
  const worker = new Worker(new URL("./pdf-worker.mjs", import.meta.url), {
    workerData: { bytes: copy, maxPageChars: options.maxChars * 2 },
    transferList: [copy.buffer],
    resourceLimits: {
      maxOldGenerationSizeMb: options.maxMemoryMb,
      maxYoungGenerationSizeMb: pdfWorkerLimits.maxYoungGenerationSizeMb,
    },
  });
  const { next, fail } = messagesFrom(worker, stop);
  const watchdog = setInterval(() => {
    worker.getHeapStatistics().then(
      (stats) => {
        if (stats.external_memory > options.maxMemoryMb * 1024 * 1024) {
          fail(new MemoryLimitReached(`external memory ${stats.external_memory} bytes`));
          void worker.terminate();
        }
      },
      // The worker has already exited; its exit is reported on its own.
      () => undefined,
    );
  }, pdfWorkerLimits.memoryPollMs);
  try {
    const opened = expectMessage(await next(), "opened");
    const pageCount = opened.pageCount;
    if (pageCount > options.maxPages) {
      throw new IngestError(
        "too_many_pages",
        `This PDF has ${pageCount.toLocaleString("en")} pages; at most ${options.maxPages.toLocaleString("en")} can be read.`,
        { detail: `${pageCount} pages` },
      );
    }
    const title = cleanTitle(opened.title);
    const pages: PageSpan[] = [];
    const parts: string[] = [];
    let length = 0;
    let truncated = false;
    for (let number = 1; number <= pageCount; number++) {
      worker.postMessage({ type: "page", page: number });
      const pageText = normaliseWhitespace(expectMessage(await next(), "page").text, {
        collapseSpaces: true,
      });
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
      await options.onProgress?.({ page: number, pages: pageCount });
      stop.throwIfAborted();
    }
    return { title, text: parts.join(""), pages, pageCount, truncated };
  } finally {
    clearInterval(watchdog);
    await worker.terminate();
  }
}

/**
 * The worker's messages in order (`next` rejects once the worker fails or
 * exits, `stop` aborts, or `fail` is called).
 */
function messagesFrom(
  worker: Worker,
  stop: AbortSignal,
): { next: () => Promise<WorkerMessage>; fail: (error: unknown) => void } {
  const queue: unknown[] = [];
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const fail = (error: unknown) => {
    failure ??= { error };
    wake?.();
  };
  worker.on("message", (message: unknown) => {
    queue.push(message);
    wake?.();
  });
  worker.on("error", fail);
  worker.on("exit", (code) => fail(new Error(`the PDF worker exited with code ${code}`)));
  stop.addEventListener("abort", () => fail(stop.reason), { once: true });
  const next = async () => {
    for (;;) {
      if (stop.aborted) throw stop.reason;
      if (failure) throw failure.error;
      if (queue.length > 0) return workerMessageSchema.parse(queue.shift());
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  return { next, fail };
}

function expectMessage<T extends WorkerMessage["type"]>(
  message: WorkerMessage,
  type: T,
): Extract<WorkerMessage, { type: T }> {
  if (message.type === "failed")
    throw Object.assign(new Error(message.message), { name: message.name });
  if (message.type !== type)
    throw new Error(`the PDF worker sent ${message.type}, expected ${type}`);
  return message as Extract<WorkerMessage, { type: T }>;
}

const slots = { free: pdfWorkerLimits.concurrency, waiting: [] as (() => void)[] };

/** PDFs being read and PDFs waiting for a worker, in this process (for tests and health checks). */
export function pdfWorkerQueue(): { reading: number; waiting: number } {
  return { reading: pdfWorkerLimits.concurrency - slots.free, waiting: slots.waiting.length };
}

/** Waits for one of the `pdfWorkerLimits.concurrency` worker slots; returns its release. */
async function workerSlot(stop: AbortSignal): Promise<() => void> {
  stop.throwIfAborted();
  if (slots.free > 0) {
    slots.free--;
  } else {
    await new Promise<void>((resolve, reject) => {
      const granted = () => {
        stop.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        slots.waiting.splice(slots.waiting.indexOf(granted), 1);
        reject(stop.reason);
      };
      slots.waiting.push(granted);
      stop.addEventListener("abort", onAbort, { once: true });
    });
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const nextInLine = slots.waiting.shift();
    if (nextInLine) nextInLine();
    else slots.free++;
  };
}

function asPdfError(error: unknown, stop: AbortSignal, options: PdfOptions): IngestError {
  if (error instanceof IngestError) return error;
  if (stop.aborted && stop.reason instanceof DeadlinePassed) {
    return new IngestError("extraction_timeout", "Reading the PDF took too long.", {
      detail: `deadline passed after ${options.deadline} (epoch ms)`,
    });
  }
  if (stop.aborted) return new IngestError("aborted", "Reading the document was cancelled.");
  const name = error instanceof Error ? error.name : "";
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (
    error instanceof MemoryLimitReached ||
    (error as { code?: unknown } | null)?.code === "ERR_WORKER_OUT_OF_MEMORY"
  ) {
    return new IngestError("too_complex", "This PDF needs more memory to read than is allowed.", {
      detail,
      cause: error,
    });
  }
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
