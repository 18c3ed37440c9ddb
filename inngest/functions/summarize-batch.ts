/**
 * Batch: many texts in one job (a CSV or JSONL file, one text per row; web
 * pages, read first; files of the owner's library), each
 * summarized on its own with its own result or failure. Mode `now` calls the
 * live API (inngest/functions/_lib/batch-live.ts); mode `economy` goes
 * through the provider's batch API at half the price and hours of latency
 * (_lib/batch-economy.ts). The job completes once every item is final; when
 * its budget or deadline stops it first, it completes with what it has,
 * marked partial.
 */
import { createJobFunction } from "@/inngest/functions/_lib/job-function";
import { summarizeEconomy } from "@/inngest/functions/_lib/batch-economy";
import { summarizeLive } from "@/inngest/functions/_lib/batch-live";
import { readWebPages } from "@/inngest/functions/_lib/batch-read-pages";
import { jobFailure } from "@/inngest/functions/_lib/job-step";
import { formatMicros } from "@/lib/ai/pricing";
import { db } from "@/lib/db";
import { failUnfinishedItems, itemCounts } from "@/lib/jobs/batch/items";
import { jobCost, type JobCost } from "@/lib/jobs/cost";
import { stopReasonText, type StopReason } from "@/lib/jobs/limits";
import { storedJobInputSchema, type BatchMode } from "@/lib/jobs/schemas";

async function readSettings(jobId: string) {
  const job = await db.job.findUniqueOrThrow({ where: { id: jobId }, select: { input: true } });
  const input = storedJobInputSchema.parse(job.input);
  if (input.kind !== "batch") throw jobFailure("invalid_input", "This job is not a batch.");
  return { mode: input.mode, retry: input.retry, source: input.source.type };
}

/** The result's text, which the page and the outcome email show: counts, cost, and why it stopped. */
function summaryText(options: {
  mode: BatchMode;
  counts: { total: number; done: number; failed: number };
  cost: Pick<JobCost, "micros" | "liveMicros" | "reference">;
  stopped: StopReason | null;
}): string {
  const { counts, cost, mode, stopped } = options;
  const lines = [
    `${counts.done.toLocaleString("en")} of ${counts.total.toLocaleString("en")} items summarized, ${counts.failed.toLocaleString("en")} failed.`,
    mode === "economy"
      ? `Cost: ${formatMicros(cost.micros)} in economy mode (the same work live: ${formatMicros(cost.liveMicros)}).`
      : `Cost: ${formatMicros(cost.micros)}.`,
  ];
  if (cost.reference)
    lines.push(
      `The offline demo model is free. At ${cost.reference.modelId}'s list price these tokens would cost ${formatMicros(cost.reference.micros)}` +
        (mode === "economy" ? `, or ${formatMicros(cost.reference.liveMicros)} live.` : "."),
    );
  if (stopped) lines.push(`Partial results: ${stopReasonText[stopped]}`);
  return lines.join("\n\n");
}

export const summarizeBatch = createJobFunction({
  id: "summarize-batch",
  kind: "batch",
  handler: async (job) => {
    const settings = await job.run("read-settings", "Reading the batch", async () => ({
      value: await readSettings(job.id),
    }));
    if (settings.source === "urls") await readWebPages(job);
    const stopped =
      settings.mode === "economy"
        ? await summarizeEconomy(job, settings.retry)
        : await summarizeLive(job, "live");

    return job.run("finish-batch", "Writing the results", async () => {
      await failUnfinishedItems(
        job.id,
        stopped ?? "not_summarized",
        stopped ? stopReasonText[stopped] : "The item could not be summarized, even after retries.",
      );
      const [counts, cost] = await Promise.all([itemCounts(job.id), jobCost(job.id)]);
      const result = {
        markdown: summaryText({ mode: settings.mode, counts, cost, stopped }),
        mode: settings.mode,
        total: counts.total,
        done: counts.done,
        failed: counts.failed,
        partial: stopped !== null,
        stopReason: stopped,
      };
      return { value: result, outputs: { status: "completed", result } };
    });
  },
});
