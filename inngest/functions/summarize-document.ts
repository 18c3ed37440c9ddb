/**
 * Summarize: read the document (a URL through the SSRF-safe client, pasted
 * text, or a file from the owner's library), split it into chunks, summarize
 * each chunk in parallel steps (a batch at a time, so one job cannot flood
 * the model), then reduce the part summaries into one summary.
 *
 * NOTE: step results travel back to the function on every call, so the
 * document's text never does: the read step saves it as a Document and
 * returns chunk offsets; each map step reads its slice from the database.
 */
import { generateText } from "ai";
import { inngest } from "@/inngest/client";
import { jobOutcomeEvent } from "@/lib/email/events";
import {
  callModel,
  jobFailure,
  jobFunctionOptions,
  jobRequestedDataSchema,
  jobStep,
  jobWrite,
  markJobFailed,
} from "@/inngest/functions/_lib/job-step";
import { languageModel } from "@/lib/ai/providers";
import { summarizePrompt } from "@/lib/ai/prompts";
import { db } from "@/lib/db";
import { chunkText, pagesInRange } from "@/lib/ingest/chunk-text";
import { isIngestError } from "@/lib/ingest/errors";
import { storedJobInputSchema } from "@/lib/jobs/schemas";
import { downloadDocument } from "@/lib/ingest/download-document";
import { checksumOf, saveDocument } from "@/lib/ingest/save-document";

/** About 1,500 tokens per part for ordinary documents. */
export const SUMMARY_CHUNK_CHARS = 6_000;
/**
 * Longer documents get longer parts instead of more of them: every step adds
 * a round trip to the orchestrator and its result to the run's state, so a
 * 300-page book (about 900k characters) becomes at most 48 parts of ~6k tokens each.
 */
export const MAX_PARTS = 48;
/** Parts summarized at once within one job. */
export const MAP_BATCH_SIZE = 8;
/** Part summaries combined per reduce call. */
const REDUCE_GROUP_SIZE = 12;

const MAP_START = 0.1;
const MAP_END = 0.9;

interface ReadDocument {
  documentId: string;
  /** Of the text the parts' offsets index into. */
  checksum: string;
  title: string;
  sourceRef: string;
  url: string | null;
  parts: Array<{ start: number; end: number; pages: string | null }>;
  truncated: boolean;
}

// A map step reads its slice of the document; the parts of one job run on
// the same process one after another, so the last few texts are kept.
const recentTexts = new Map<string, string>();
async function documentText(documentId: string, checksum: string): Promise<string> {
  const key = `${documentId}:${checksum}`;
  const cached = recentTexts.get(key);
  if (cached !== undefined) return cached;
  const document = await db.document.findUnique({
    where: { id: documentId },
    select: { text: true, checksum: true },
  });
  // A shared document re-imported mid-run: the parts' offsets no longer fit its text.
  if (!document || document.checksum !== checksum) {
    throw jobFailure(
      "document_changed",
      "The document was changed or removed while it was being summarized. Start a new summary.",
    );
  }
  recentTexts.set(key, document.text);
  if (recentTexts.size > 4) recentTexts.delete(recentTexts.keys().next().value!);
  return document.text;
}

function pageLabel(pages: number[]): string | null {
  if (pages.length === 0) return null;
  const first = pages[0]!;
  const last = pages[pages.length - 1]!;
  return first === last ? `page ${first}` : `pages ${first}–${last}`;
}

async function summarize(text: string, maxSentences?: number): Promise<string> {
  const { text: summary } = await callModel(() =>
    generateText({
      model: languageModel(),
      ...summarizePrompt({ text, maxSentences }),
      maxRetries: 0,
    }),
  );
  return summary.trim();
}

async function readDocument(ownerId: string, jobId: string): Promise<ReadDocument> {
  const job = await db.job.findUniqueOrThrow({ where: { id: jobId }, select: { input: true } });
  const input = storedJobInputSchema.parse(job.input);
  if (input.kind !== "summarize") throw jobFailure("invalid_input", "This job is not a summary.");
  const source = input.source;
  let saved: { id: string; checksum: string };
  let title: string;
  let text: string;
  let url: string | null = null;
  let pageSpans: Array<{ page: number; start: number; end: number }> | undefined;
  let truncated = false;
  if (source.type === "document") {
    const document = await db.document.findFirst({
      where: { id: source.documentId, OR: [{ ownerId }, { ownerId: null }] },
      select: { id: true, title: true, text: true, sourceUrl: true, checksum: true },
    });
    if (!document)
      throw jobFailure("document_not_found", "That document is no longer in your library.");
    saved = document;
    ({ title, text } = document);
    url = document.sourceUrl;
  } else if (source.type === "text") {
    text = source.text;
    title =
      source.title ??
      (text.split("\n").find((line) => line.trim()) ?? "Pasted text").trim().slice(0, 80);
    saved = {
      ...(await saveDocument({ ownerId, title, text, mime: "text/plain" })),
      checksum: checksumOf(text),
    };
  } else {
    try {
      const downloaded = await downloadDocument(source.url);
      text = downloaded.text;
      title = downloaded.title ?? new URL(downloaded.url).hostname;
      url = downloaded.url;
      pageSpans = downloaded.pages;
      truncated = downloaded.truncated;
      saved = {
        ...(await saveDocument({
          ownerId,
          title,
          text,
          mime: downloaded.contentType,
          sourceUrl: downloaded.url,
        })),
        checksum: checksumOf(text),
      };
    } catch (error) {
      if (isIngestError(error)) {
        // Retried (the site may come back); the code and message survive to onFailure.
        if (error.retryable) throw new Error(`${error.code}: ${error.message}`, { cause: error });
        throw jobFailure(error.code, error.message, error);
      }
      throw error;
    }
  }
  const chunks = chunkText(text, {
    // Overlap and cuts at sentence ends make parts shorter than the limit: aim below the cap.
    maxChars: Math.max(SUMMARY_CHUNK_CHARS, Math.ceil(text.length / (MAX_PARTS * 0.8))),
  });
  if (chunks.length === 0)
    throw jobFailure("empty_document", "There is no text to summarize in this document.");
  return {
    documentId: saved.id,
    checksum: saved.checksum,
    title,
    url,
    sourceRef: url && source.type === "url" ? `url:${url}` : `document:${saved.id}`,
    parts: chunks.map((chunk) => ({
      start: chunk.start,
      end: chunk.end,
      pages: pageSpans ? pageLabel(pagesInRange(pageSpans, chunk.start, chunk.end)) : null,
    })),
    truncated,
  };
}

export const summarizeDocument = inngest.createFunction(
  {
    id: "summarize-document",
    triggers: [{ event: "job/summarize.requested" }],
    ...jobFunctionOptions,
    onFailure: markJobFailed,
  },
  async ({ event, step }) => {
    const { jobId, ownerId } = jobRequestedDataSchema.parse(event.data);
    await jobWrite(step, jobId, "mark-job-running", { status: "running" });

    const document = await jobStep(
      step,
      jobId,
      "read-document",
      "Reading the document",
      async () => {
        const read = await readDocument(ownerId, jobId);
        return {
          value: read,
          outputs: {
            progress: MAP_START,
            sources: [
              {
                ref: read.sourceRef,
                url: read.url,
                documentId: read.documentId,
                title: read.title,
                rank: 1,
                read: true,
              },
            ],
          },
          events: [
            {
              type: "source.read",
              data: {
                ref: read.sourceRef,
                url: read.url,
                title: read.title,
                rank: 1,
                parts: read.parts.length,
              },
            },
          ],
        };
      },
    );

    const total = document.parts.length;
    const summaries: string[] = [];
    for (let batch = 0; batch < total; batch += MAP_BATCH_SIZE) {
      const results = await Promise.all(
        document.parts.slice(batch, batch + MAP_BATCH_SIZE).map((part, offset) => {
          const n = batch + offset + 1;
          const title = `Part ${n} of ${total}${part.pages ? ` (${part.pages})` : ""}`;
          return jobStep(
            step,
            jobId,
            `summarize-part-${n}`,
            `Summarizing part ${n} of ${total}`,
            async () => {
              const text = (await documentText(document.documentId, document.checksum)).slice(
                part.start,
                part.end,
              );
              const summary = await summarize(text);
              return {
                value: summary,
                outputs: { progress: MAP_START + ((MAP_END - MAP_START) * n) / total },
                events: [{ type: "partial", data: { key: `part-${n}`, title, text: summary } }],
              };
            },
          );
        }),
      );
      summaries.push(...results);
    }

    // Large documents reduce in rounds: groups of part summaries first, then their summaries.
    let layer = summaries;
    for (let round = 1; layer.length > REDUCE_GROUP_SIZE; round++) {
      const groups: string[][] = [];
      for (let i = 0; i < layer.length; i += REDUCE_GROUP_SIZE)
        groups.push(layer.slice(i, i + REDUCE_GROUP_SIZE));
      layer = await Promise.all(
        groups.map((group, i) =>
          jobStep(
            step,
            jobId,
            `combine-summaries-${round}-${i + 1}`,
            `Combining part summaries (${i + 1} of ${groups.length})`,
            async () => ({ value: await summarize(group.join("\n\n"), 6) }),
          ),
        ),
      );
    }

    await jobStep(step, jobId, "write-summary", "Writing the summary", async () => {
      const summary = layer.length === 1 ? layer[0]! : await summarize(layer.join("\n\n"), 8);
      const note = document.truncated
        ? "\n\n_Only the first part of this document was summarized: it is longer than Dispatch reads._"
        : "";
      return {
        value: null,
        outputs: {
          status: "completed",
          result: {
            markdown: `${summary}${note}`,
            title: document.title,
            parts: total,
            documentId: document.documentId,
          },
        },
      };
    });
    await step.sendEvent("notify-outcome", jobOutcomeEvent(jobId, "completed"));
    return { jobId, parts: total };
  },
);
