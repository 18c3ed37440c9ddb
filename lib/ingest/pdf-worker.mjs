/**
 * The PDF extraction worker: pdf.js (the serverless build bundled by `unpdf`)
 * in its own thread, started by extract-pdf.ts for one file and terminated
 * after it. Whatever pdf.js allocates lives and dies here, under the memory
 * limits the parent sets and watches, and a page that holds pdf.js for
 * seconds holds this thread, not the server's.
 *
 * Protocol (the parent decides everything; this side only reads):
 *   parent → worker (workerData): { bytes: Uint8Array, maxPageChars: number }
 *   worker → parent: { type: "opened", pageCount, title }
 *   parent → worker: { type: "page", page } for each page it wants
 *   worker → parent: { type: "page", page, text } (raw text, capped at maxPageChars)
 *   worker → parent: { type: "failed", name, message } when pdf.js throws
 *
 * NOTE: plain JavaScript on purpose: Node runs it as is under Next.js, Vitest
 * and tsx alike, with nothing to compile and no path aliases to resolve.
 */
import { parentPort, workerData } from "node:worker_threads";
import { getDocumentProxy } from "unpdf";

const port = parentPort;
if (!port) throw new Error("pdf-worker.mjs runs as a worker thread only");

/** @type {{ bytes: Uint8Array, maxPageChars: number }} */
const { bytes, maxPageChars } = workerData;

/** @param {unknown} error */
function failed(error) {
  port.postMessage({
    type: "failed",
    name: error instanceof Error ? error.name : "Error",
    message: error instanceof Error ? error.message : String(error),
  });
}

try {
  const document = await getDocumentProxy(bytes, {
    verbosity: 0,
    disableFontFace: true,
    useSystemFonts: false,
    stopAtErrors: false,
  });
  const title = await document
    .getMetadata()
    .then((meta) => {
      const value = meta.info?.Title;
      return typeof value === "string" ? value : null;
    })
    .catch(() => null);
  port.postMessage({ type: "opened", pageCount: document.numPages, title });

  port.on("message", async (/** @type {{ type: "page", page: number }} */ command) => {
    try {
      const page = await document.getPage(command.page);
      try {
        const content = await page.getTextContent();
        let text = "";
        for (const item of content.items) {
          if ("str" in item) text += item.str + (item.hasEOL ? "\n" : "");
          if (text.length > maxPageChars) break;
        }
        port.postMessage({ type: "page", page: command.page, text: text.slice(0, maxPageChars) });
      } finally {
        page.cleanup();
      }
    } catch (error) {
      failed(error);
    }
  });
} catch (error) {
  failed(error);
}
