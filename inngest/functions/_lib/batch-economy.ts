/**
 * A batch job's items through the provider's batch API (lib/ai/batch/), as
 * durable steps whose number does not grow with the items: per round, one
 * step submits every pending item as one provider batch, polls follow with
 * `step.sleep` backoff between them (no held connection, no busy loop), and
 * one step reads the results back by custom id. Items that failed in a way a
 * retry can fix go in a new round, or live (the job's `retry` setting).
 * With a budget, a round takes only the items whose worst-case cost fits in
 * what is left; the rest wait for a later round, priced on what was spent.
 */
import type { JobRun } from "@/inngest/functions/_lib/job-function";
import { jobFailure, writeJobStep, type StepResult } from "@/inngest/functions/_lib/job-step";
import { summarizeLive } from "@/inngest/functions/_lib/batch-live";
import { priceFor } from "@/lib/ai/pricing";
import { batchClient, modelPrices } from "@/lib/ai/providers";
import {
  BatchError,
  batchHandleSchema,
  collectResults,
  expectedFinish,
  isFinalBatchState,
  type BatchHandle,
  type BatchStatus,
} from "@/lib/ai/batch/types";
import { ModelConfigError } from "@/lib/ai/models";
import { db } from "@/lib/db";
import { env } from "@/lib/env";
import type { Prisma } from "@/lib/generated/prisma/client";
import {
  customIdOf,
  itemCounts,
  markSubmitted,
  pendingItems,
  positionOf,
  recordItemOutcomes,
  type ItemOutcome,
} from "@/lib/jobs/batch/items";
import { batchRequestOf, itemPrompt, itemWorstCaseMicros } from "@/lib/jobs/batch/prompt";
import { admitWithinBudget, jobLimits, limitReached, type StopReason } from "@/lib/jobs/limits";
import { sumUsage } from "@/lib/jobs/usage";

/** Batch attempts per item, including the first: a third failure of the same item is final. */
export const MAX_BATCH_ATTEMPTS = 3;
/** Provider batches per job: retries, and items a budget held back from an earlier round. */
export const MAX_BATCH_ROUNDS = 6;

// Economy progress: submitting is the first tenth, the provider's work up to nine tenths.
const SUBMITTED = 0.1;
const ANSWERED = 0.9;

/** The wait before poll `n` (n ≥ 2): doubling from the shortest to the longest. */
export function pollDelayMs(n: number): number {
  return Math.min(env.BATCH_POLL_MIN_MS * 2 ** Math.max(0, n - 2), env.BATCH_POLL_MAX_MS);
}

/**
 * A call to the provider's batch API inside a step. What retrying cannot
 * fix ends the job with a message the user can act on (no batch API with
 * this provider, a batch the provider no longer knows, items it refuses);
 * the rest (rate limits, server errors) is retried by the step.
 */
export async function callBatchApi<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ModelConfigError)
      throw jobFailure("model_not_configured", error.message, error);
    if (error instanceof BatchError && !error.retryable) {
      const message =
        error.code === "provider_error"
          ? "The provider refused the batch request; run the job now instead, or try again later."
          : error.message;
      throw jobFailure("batch_failed", message, error);
    }
    throw error;
  }
}

type Submitted = { stopped: StopReason } | { handle: BatchHandle | null; held: number };

async function submitRound(
  jobId: string,
  round: number,
  retry: "batch" | "live",
): Promise<StepResult<Submitted>> {
  const { stopped, remaining } = await jobLimits(jobId);
  if (stopped) return { value: { stopped } };
  const pending = await pendingItems(jobId);
  // When failures are retried live, later rounds take only what no round has tried yet.
  const candidates =
    retry === "live" && round > 1 ? pending.filter((item) => item.attempts === 0) : pending;
  if (candidates.length === 0) return { value: { handle: null, held: 0 } };
  const price = priceFor(modelPrices(), batchClient().modelId);
  const items = admitWithinBudget(
    candidates,
    (item) => itemWorstCaseMicros(item.text, price, "batch"),
    remaining,
  );
  if (items.length === 0) return { value: { stopped: "budget" } };
  const prompts = items.map((item) =>
    batchRequestOf(customIdOf(item.position), itemPrompt(item.text)),
  );
  // The key makes a retried step find the batch its first attempt created instead of paying twice.
  const handle = await callBatchApi(() =>
    batchClient().submit(prompts, { key: `${jobId}-${round}` }),
  );
  await rememberBatch(jobId, round, handle);
  // A cancel that arrived while the batch was being created found no batch to cancel: do it here.
  const job = await db.job.findUniqueOrThrow({ where: { id: jobId }, select: { status: true } });
  if (job.status === "cancelled") {
    const status = await callBatchApi(() => batchClient().cancel(handle));
    await db.providerBatch.update({
      where: { jobId_round: { jobId, round } },
      data: { state: status.state, updatedAt: new Date() },
      select: { round: true },
    });
  }
  await markSubmitted(
    jobId,
    items.map((item) => item.position),
  );
  const held = candidates.length - items.length;
  return {
    value: { handle, held },
    outputs: { progress: SUBMITTED },
    events: [
      {
        type: "batch.submitted",
        data: {
          round,
          items: items.length,
          provider: handle.provider,
          batchId: handle.batchId,
          ...(held ? { heldForBudget: held } : {}),
        },
      },
    ],
  };
}

interface Polled {
  status: BatchStatus;
  /** The deadline passed while the batch ran: it was asked to stop. */
  stopped: StopReason | null;
}

/** One status read (and, past the deadline, a cancel), recorded as a `batch.status` event. */
function pollRound(job: JobRun, round: number, n: number, handle: BatchHandle) {
  const id = `poll-batch-${round}-${n}`;
  return job.step.run(id, async (): Promise<Polled> => {
    let status = await callBatchApi(() => batchClient().poll(handle));
    const stopped = (await limitReached(job.id)) === "deadline" ? "deadline" : null;
    if (stopped && !isFinalBatchState(status.state) && status.state !== "cancelling")
      status = await callBatchApi(() => batchClient().cancel(handle));
    await db.providerBatch.update({
      where: { jobId_round: { jobId: job.id, round } },
      data: { state: status.state, updatedAt: new Date() },
      select: { round: true },
    });
    await writeJobStep(job.id, id, {
      status: "running",
      progress: SUBMITTED + ((ANSWERED - SUBMITTED) * status.done) / Math.max(1, status.total),
      events: [
        {
          type: "batch.status",
          data: {
            round,
            state: status.state,
            total: status.total,
            done: status.done,
            failed: status.failed,
            expectedFinish: expectedFinish(status),
            expiresAt: status.expiresAt,
            ...(stopped ? { stopped } : {}),
          },
        },
      ],
    });
    return { status, stopped };
  });
}

/**
 * Polls a provider batch until it is final, sleeping with backoff between
 * polls; past the job's deadline the batch is cancelled and waited out.
 */
export async function waitForBatch(job: JobRun, round: number, handle: BatchHandle) {
  let polled = await pollRound(job, round, 1, handle);
  for (let n = 2; !isFinalBatchState(polled.status.state); n++) {
    await job.step.sleep(`wait-batch-${round}-${n}`, pollDelayMs(n));
    polled = await pollRound(job, round, n, handle);
  }
  return polled;
}

/** Keeps the batch's handle with the job, so a cancel (cancel-provider-batches) can find it. */
export async function rememberBatch(jobId: string, round: number, handle: BatchHandle) {
  await db.providerBatch.upsert({
    where: { jobId_round: { jobId, round } },
    create: { jobId, round, handle: handle as Prisma.InputJsonObject, state: "queued" },
    update: {},
    select: { round: true },
  });
}

/** Reads a final batch's results back onto its items; returns how many may be retried. */
async function readRound(jobId: string, step: string, handle: BatchHandle, round: number) {
  const submitted = await db.batchItem.findMany({
    where: { jobId, status: "submitted" },
    select: { position: true, attempts: true },
  });
  const attempts = new Map(submitted.map((item) => [item.position, item.attempts]));
  const results = await callBatchApi(() =>
    collectResults(
      batchClient(),
      handle,
      submitted.map((item) => customIdOf(item.position)),
    ),
  );
  const outcomes: ItemOutcome[] = [];
  const answered: Array<{ inputTokens: number; outputTokens: number }> = [];
  for (const result of results.values()) {
    const position = positionOf(result.customId);
    if (position === null || !attempts.has(position)) continue;
    if (result.ok) {
      answered.push(result.usage);
      outcomes.push({
        position,
        status: "done",
        summary: result.text.trim(),
        mode: "batch",
        ...result.usage,
      });
    } else {
      const retry = result.error.retryable && attempts.get(position)! + 1 < MAX_BATCH_ATTEMPTS;
      outcomes.push({
        position,
        status: retry ? "pending" : "failed",
        errorCode: result.error.code,
        errorMessage: result.error.message,
      });
    }
  }
  await recordItemOutcomes(jobId, step, outcomes, [sumUsage(handle.modelId, "batch", answered)]);
  const counts = await itemCounts(jobId);
  return {
    value: { retryable: counts.pending },
    outputs: { progress: (counts.done + counts.failed) / Math.max(1, counts.total) },
    events: [
      {
        type: "batch.items",
        data: { round, done: counts.done, failed: counts.failed, retrying: counts.pending },
      },
    ],
  };
}

/**
 * Every pending item through the provider's batch API, in up to
 * {@link MAX_BATCH_ROUNDS} rounds; with `retry: "live"`, what failed in a
 * round is retried live instead. Returns why it stopped early, if it did.
 */
export async function summarizeEconomy(
  job: JobRun,
  retry: "batch" | "live",
): Promise<StopReason | null> {
  let held = 0;
  for (let round = 1; round <= MAX_BATCH_ROUNDS; round++) {
    const submitted = await job.run(
      `submit-batch-${round}`,
      round === 1
        ? "Sending the items to the provider's batch API"
        : `Sending the items left to the batch API again (round ${round})`,
      () => submitRound(job.id, round, retry),
    );
    if ("stopped" in submitted) return submitted.stopped;
    if (!submitted.handle) break;
    held = submitted.held;
    const handle = batchHandleSchema.parse(submitted.handle);

    const polled = await waitForBatch(job, round, handle);
    const read = await job.run(`read-results-${round}`, "Reading the provider's results", () =>
      readRound(job.id, `read-results-${round}`, handle, round),
    );
    if (polled.stopped) return polled.stopped;
    if (read.retryable === 0) return null;
  }
  if (retry === "live") {
    const stopped = await summarizeLive(job, "retry");
    if (stopped) return stopped;
  }
  // Items the budget held back in the last round never ran: the budget stopped them.
  return held > 0 ? "budget" : null;
}
