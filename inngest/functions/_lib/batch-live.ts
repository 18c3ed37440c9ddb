/**
 * A batch job's items through the live API: slices of items, one step per
 * slice, a few slices at a time, a few calls at a time within a slice (the
 * owner's concurrency limit caps it further across jobs). Each item gets its
 * own result or failure; an item's failure never fails the step. Items that
 * failed in a way a retry can fix are tried again in a later pass. With a
 * budget, each slice of a group takes only the items whose worst-case cost
 * fits in its share of what is left, so parallel slices never overspend it
 * together; items held back wait for a later pass.
 */
import { generateText } from "ai";
import { NonRetriableError } from "inngest";
import type { JobRun } from "@/inngest/functions/_lib/job-function";
import { callModel, type StepResult } from "@/inngest/functions/_lib/job-step";
import { priceFor } from "@/lib/ai/pricing";
import { languageModel, modelInfo, modelPrices } from "@/lib/ai/providers";
import {
  itemCounts,
  pendingItems,
  pendingPositions,
  recordItemOutcomes,
  type ItemOutcome,
  type PendingItem,
} from "@/lib/jobs/batch/items";
import { itemPrompt, itemWorstCaseMicros } from "@/lib/jobs/batch/prompt";
import { admitWithinBudget, jobLimits, type StopReason } from "@/lib/jobs/limits";
import { sumUsage } from "@/lib/jobs/usage";

/** Items per step: few enough that a retried step repeats little, many enough that 10,000 items are 500 steps. */
export const LIVE_SLICE_SIZE = 20;
/** Slices summarized at once within one job. */
const PARALLEL_SLICES = 4;
/** Model calls at once within a slice. */
const CALLS_PER_SLICE = 4;
/** Live attempts per item, including the first. */
export const MAX_LIVE_ATTEMPTS = 3;

/** `work` on every item, at most `limit` at a time, results in the items' order. */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await work(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

async function summarizeItem(item: PendingItem): Promise<ItemOutcome> {
  try {
    const result = await callModel(() =>
      generateText({
        model: languageModel(),
        ...itemPrompt(item.text),
        maxRetries: 0,
      }),
    );
    return {
      position: item.position,
      status: "done",
      summary: result.text.trim(),
      mode: "live",
      inputTokens: result.usage.inputTokens ?? 0,
      outputTokens: result.usage.outputTokens ?? 0,
    };
  } catch (error) {
    // A configuration that does not work fails every item the same way: the job fails.
    if (error instanceof NonRetriableError) throw error;
    return {
      position: item.position,
      status: item.attempts + 1 < MAX_LIVE_ATTEMPTS ? "pending" : "failed",
      errorCode: "model_unavailable",
      errorMessage: "The language model did not answer for this item, even after retries.",
    };
  }
}

interface SliceResult {
  stopped: StopReason | null;
  /** Pending items the budget held back for a later pass. */
  held: number;
  /** Items summarized (or failed) in this slice. */
  ran: number;
}

/**
 * One slice: the pending items among `positions` that fit in `share` of
 * what the budget has left, unless the job's budget or deadline is reached.
 */
async function summarizeSlice(
  jobId: string,
  step: string,
  positions: readonly number[],
  share: number,
): Promise<StepResult<SliceResult>> {
  const { stopped, remaining } = await jobLimits(jobId);
  if (stopped) return { value: { stopped, held: 0, ran: 0 } };
  const pending = await pendingItems(jobId, { positions });
  const price = priceFor(modelPrices(), modelInfo().modelId);
  const items = admitWithinBudget(
    pending,
    (item) => itemWorstCaseMicros(item.text, price, "live"),
    remaining === null ? null : Math.floor(remaining * share),
  );
  const held = pending.length - items.length;
  if (items.length === 0) return { value: { stopped: null, held, ran: 0 } };
  const outcomes = await mapLimited(items, CALLS_PER_SLICE, summarizeItem);
  const done = outcomes.flatMap((outcome) => (outcome.status === "done" ? [outcome] : []));
  await recordItemOutcomes(jobId, step, outcomes, [sumUsage(modelInfo().modelId, "live", done)]);
  const counts = await itemCounts(jobId);
  return {
    value: { stopped: null, held, ran: items.length },
    outputs: { progress: (counts.done + counts.failed) / Math.max(1, counts.total) },
    // The page reads its counts and items again on this event.
    events: [{ type: "batch.items", data: { done: counts.done, failed: counts.failed } }],
  };
}

/**
 * Summarizes every pending item live, in up to {@link MAX_LIVE_ATTEMPTS}
 * passes. `name` keeps the step ids of a retry pass apart from a first one.
 * Returns why it stopped early, if it did.
 */
export async function summarizeLive(job: JobRun, name: string): Promise<StopReason | null> {
  for (let pass = 1; pass <= MAX_LIVE_ATTEMPTS; pass++) {
    const positions = await job.run(
      `list-items-${name}-${pass}`,
      pass === 1 ? "Listing the items to summarize" : `Listing the items to retry (pass ${pass})`,
      async () => ({ value: await pendingPositions(job.id) }),
    );
    if (positions.length === 0) return null;
    const slices: number[][] = [];
    for (let i = 0; i < positions.length; i += LIVE_SLICE_SIZE)
      slices.push(positions.slice(i, i + LIVE_SLICE_SIZE));
    let held = 0;
    let ran = 0;
    for (let group = 0; group < slices.length; group += PARALLEL_SLICES) {
      const batch = slices.slice(group, group + PARALLEL_SLICES);
      const results = await Promise.all(
        batch.map((slice, offset) => {
          const id = `summarize-items-${name}-${pass}-${group + offset + 1}`;
          const range =
            slice.length === 1 ? `item ${slice[0]}` : `items ${slice[0]}–${slice.at(-1)}`;
          return job.run(id, `Summarizing ${range}`, () =>
            summarizeSlice(job.id, id, slice, 1 / batch.length),
          );
        }),
      );
      const stopped = results.find((result) => result.stopped !== null)?.stopped;
      if (stopped) return stopped;
      for (const result of results) {
        held += result.held;
        ran += result.ran;
      }
    }
    // A pass that could not afford a single item ends it; held items are the budget's.
    if (held > 0 && (ran === 0 || pass === MAX_LIVE_ATTEMPTS)) return "budget";
  }
  return null;
}
