/**
 * A job's budget and deadline, checked between steps: once either is
 * reached no new work starts, and the job completes with what it has,
 * marked partial. Work already running (a provider batch, a step's calls)
 * is not cut off by the budget; the deadline cancels a provider batch.
 */
import "server-only";
import { db } from "@/lib/db";
import { jobCost } from "@/lib/jobs/cost";

export type StopReason = "budget" | "deadline";

export const stopReasonText: Record<StopReason, string> = {
  budget: "The job reached its budget, so it stopped starting new work.",
  deadline: "The job reached its deadline, so it stopped starting new work.",
};

/** Why the job must not start new work now, or null. */
export async function limitReached(jobId: string, now = new Date()): Promise<StopReason | null> {
  const job = await db.job.findUniqueOrThrow({
    where: { id: jobId },
    select: { budgetMicros: true, deadlineAt: true },
  });
  if (job.deadlineAt && job.deadlineAt.getTime() <= now.getTime()) return "deadline";
  if (job.budgetMicros !== null) {
    const cost = await jobCost(jobId);
    if (BigInt(cost.micros) >= job.budgetMicros) return "budget";
  }
  return null;
}
