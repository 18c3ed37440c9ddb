/**
 * A batch job's items in the database: stored in bulk when the job is
 * created, read in slices by the steps that summarize them, and updated in
 * bulk with their results (one statement per chunk, never a row per round
 * trip), together with the tokens the step spent.
 */
import "server-only";
import { db } from "@/lib/db";
import { Prisma } from "@/lib/generated/prisma/client";
import type { NewBatchItem } from "@/lib/jobs/batch/sources";
import { insertStepUsage, type StepUsage } from "@/lib/jobs/usage";

/** Rows per INSERT or UPDATE statement: well under Postgres' 65,535 bind parameters. */
const WRITE_CHUNK = 1_000;

/** An item's provider custom id; its position comes back from it. */
export const customIdOf = (position: number) => `item-${position}`;
export function positionOf(customId: string): number | null {
  const match = /^item-(\d{1,6})$/.exec(customId);
  return match ? Number(match[1]) : null;
}

export async function insertBatchItems(
  tx: Prisma.TransactionClient,
  jobId: string,
  items: readonly NewBatchItem[],
): Promise<void> {
  for (let start = 0; start < items.length; start += WRITE_CHUNK) {
    await tx.batchItem.createMany({
      data: items.slice(start, start + WRITE_CHUNK).map((item) => ({
        jobId,
        position: item.position,
        label: item.label,
        text: item.text,
        sourceUrl: item.sourceUrl ?? null,
        documentId: item.documentId ?? null,
      })),
    });
  }
}

export interface PendingItem {
  position: number;
  text: string;
  attempts: number;
}

/** Items still to summarize (never tried, or failed in a way a retry can fix), by position. */
export async function pendingItems(
  jobId: string,
  options: { positions?: readonly number[] } = {},
): Promise<PendingItem[]> {
  return db.batchItem.findMany({
    where: {
      jobId,
      status: "pending",
      ...(options.positions ? { position: { in: [...options.positions] } } : {}),
    },
    orderBy: { position: "asc" },
    select: { position: true, text: true, attempts: true },
  });
}

export async function pendingPositions(jobId: string): Promise<number[]> {
  const rows = await db.batchItem.findMany({
    where: { jobId, status: "pending" },
    orderBy: { position: "asc" },
    select: { position: true },
  });
  return rows.map((row) => row.position);
}

export type ItemOutcome =
  | {
      position: number;
      status: "done";
      summary: string;
      mode: "live" | "batch";
      inputTokens: number;
      outputTokens: number;
    }
  | {
      position: number;
      /** `pending`: failed in a way a retry can fix, and tries are left. */
      status: "pending" | "failed";
      errorCode: string;
      errorMessage: string;
    };

/**
 * Writes the outcomes of one step and the tokens it spent in one
 * transaction, so a retried step neither loses its results nor counts its
 * tokens twice. Every outcome is one more attempt of its item.
 */
export async function recordItemOutcomes(
  jobId: string,
  step: string,
  outcomes: readonly ItemOutcome[],
  usage: readonly StepUsage[],
): Promise<void> {
  await db.$transaction(async (tx) => {
    for (let start = 0; start < outcomes.length; start += WRITE_CHUNK) {
      const rows = outcomes
        .slice(start, start + WRITE_CHUNK)
        .map((outcome) =>
          outcome.status === "done"
            ? Prisma.sql`(${outcome.position}::int, 'done'::batch_item_status, ${outcome.summary}::text, ${outcome.mode}::usage_mode, ${outcome.inputTokens}::int, ${outcome.outputTokens}::int, NULL::varchar, NULL::text)`
            : Prisma.sql`(${outcome.position}::int, ${outcome.status}::batch_item_status, NULL::text, NULL::usage_mode, 0, 0, ${outcome.errorCode.slice(0, 64)}::varchar, ${outcome.errorMessage}::text)`,
        );
      await tx.$executeRaw`
        UPDATE batch_items AS item
           SET status = v.status, summary = v.summary, mode = v.mode,
               input_tokens = item.input_tokens + v.input_tokens,
               output_tokens = item.output_tokens + v.output_tokens,
               error_code = v.error_code, error_message = v.error_message,
               attempts = item.attempts + 1, updated_at = now()
          FROM (VALUES ${Prisma.join(rows)})
            AS v(position, status, summary, mode, input_tokens, output_tokens, error_code, error_message)
         WHERE item.job_id = ${jobId} AND item.position = v.position`;
    }
    await insertStepUsage(tx, jobId, step, usage);
  });
}

/** Marks items as in a provider batch (so a second round does not resend them). */
export async function markSubmitted(jobId: string, positions: readonly number[]): Promise<void> {
  for (let start = 0; start < positions.length; start += WRITE_CHUNK) {
    await db.batchItem.updateMany({
      where: { jobId, position: { in: positions.slice(start, start + WRITE_CHUNK) } },
      data: { status: "submitted", updatedAt: new Date() },
    });
  }
}

/** Items that never got a final result (the job stopped early) fail with `reason`. */
export async function failUnfinishedItems(
  jobId: string,
  code: string,
  message: string,
): Promise<number> {
  const { count } = await db.batchItem.updateMany({
    where: { jobId, status: { in: ["pending", "submitted"] } },
    data: { status: "failed", errorCode: code, errorMessage: message, updatedAt: new Date() },
  });
  return count;
}

export interface ItemCounts {
  total: number;
  done: number;
  failed: number;
  pending: number;
}

export async function itemCounts(jobId: string): Promise<ItemCounts> {
  const groups = await db.batchItem.groupBy({
    by: ["status"],
    where: { jobId },
    _count: { _all: true },
  });
  const counts: ItemCounts = { total: 0, done: 0, failed: 0, pending: 0 };
  for (const group of groups) {
    const n = group._count._all;
    counts.total += n;
    if (group.status === "done") counts.done += n;
    else if (group.status === "failed") counts.failed += n;
    else counts.pending += n;
  }
  return counts;
}
