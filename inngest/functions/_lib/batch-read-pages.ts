/**
 * A batch job's web pages, read before anything is summarized: each through
 * the SSRF-safe client (lib/search/documents.ts), a few at a time, a step
 * per handful, so a retried step fetches little again. A page that cannot be
 * read fails its own item with the reason; the others go on.
 */
import type { JobRun } from "@/inngest/functions/_lib/job-function";
import { mapLimited } from "@/inngest/functions/_lib/batch-live";
import { db } from "@/lib/db";
import { isIngestError } from "@/lib/ingest/errors";
import { recordItemOutcomes, type ItemOutcome } from "@/lib/jobs/batch/items";
import { BATCH_LIMITS } from "@/lib/jobs/schemas";
import { downloadDocument } from "@/lib/ingest/download-document";

const PAGES_PER_STEP = 10;
const FETCHES_AT_ONCE = 4;

type PageRead = { position: number; text: string; label: string | null } | ItemOutcome;

async function readPage(item: { position: number; sourceUrl: string }): Promise<PageRead> {
  try {
    const page = await downloadDocument(item.sourceUrl);
    const text = page.text.slice(0, BATCH_LIMITS.maxSourceChars).trim();
    if (!text)
      return {
        position: item.position,
        status: "failed",
        errorCode: "empty_document",
        errorMessage: "There is no text to summarize on this page.",
      };
    return { position: item.position, text, label: page.title?.slice(0, 200) ?? null };
  } catch (error) {
    if (!isIngestError(error)) throw error;
    return {
      position: item.position,
      status: "failed",
      errorCode: error.code,
      errorMessage: error.message,
    };
  }
}

async function readPages(jobId: string, step: string, positions: readonly number[]) {
  const items = await db.batchItem.findMany({
    where: { jobId, position: { in: [...positions] }, status: "pending", text: "" },
    select: { position: true, sourceUrl: true },
  });
  const reads = await mapLimited(
    items.flatMap((item) =>
      item.sourceUrl ? [{ position: item.position, sourceUrl: item.sourceUrl }] : [],
    ),
    FETCHES_AT_ONCE,
    readPage,
  );
  const failures = reads.filter((read): read is ItemOutcome => "status" in read);
  await db.$transaction(
    reads.flatMap((read) =>
      "text" in read
        ? [
            db.batchItem.update({
              where: { jobId_position: { jobId, position: read.position } },
              data: { text: read.text, ...(read.label ? { label: read.label } : {}) },
              select: { position: true },
            }),
          ]
        : [],
    ),
  );
  await recordItemOutcomes(jobId, step, failures, []);
  return {
    value: null,
    events: [
      {
        type: "pages.read",
        data: { read: reads.length - failures.length, failed: failures.length },
      },
    ],
  };
}

/** Fetches every web page item not read yet. */
export async function readWebPages(job: JobRun): Promise<void> {
  const positions = await job.run("list-web-pages", "Listing the web pages to read", async () => {
    const rows = await db.batchItem.findMany({
      where: { jobId: job.id, status: "pending", text: "", sourceUrl: { not: null } },
      orderBy: { position: "asc" },
      select: { position: true },
    });
    return { value: rows.map((row) => row.position) };
  });
  for (let i = 0; i < positions.length; i += PAGES_PER_STEP) {
    const slice = positions.slice(i, i + PAGES_PER_STEP);
    const id = `read-pages-${i / PAGES_PER_STEP + 1}`;
    await job.run(id, `Reading web pages ${i + 1}–${i + slice.length} of ${positions.length}`, () =>
      readPages(job.id, id, slice),
    );
  }
}
