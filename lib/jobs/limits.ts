/**
 * A job's budget and deadline, checked between steps: once either is
 * reached no new work starts, and the job completes with what it has,
 * marked partial. Work already running is not cut off by the budget, so a
 * step admits only the calls whose worst-case cost still fits in what is
 * left ({@link admitWithinBudget}): the budget holds even when every call
 * costs its worst. The deadline cancels a provider batch.
 */
import "server-only";
import { db } from "@/lib/db";
import { jobCost } from "@/lib/jobs/cost";

export type StopReason = "budget" | "deadline";

export const stopReasonText: Record<StopReason, string> = {
  budget:
    "The rest of the work could cost more than the budget has left, so the job stopped starting new work.",
  deadline: "The job reached its deadline, so it stopped starting new work.",
};

export interface JobLimits {
  /** Why the job must not start new work now, or null. */
  stopped: StopReason | null;
  /** What the job may still spend, in micro-dollars (never below 0); null when it has no budget. */
  remaining: number | null;
}

/** The job's limits as of `now`: one read of the job, and of its cost when it has a budget. */
export async function jobLimits(jobId: string, now = new Date()): Promise<JobLimits> {
  const job = await db.job.findUniqueOrThrow({
    where: { id: jobId },
    select: { budgetMicros: true, deadlineAt: true },
  });
  const remaining =
    job.budgetMicros === null
      ? null
      : Math.max(0, Number(job.budgetMicros) - (await jobCost(jobId)).micros);
  const stopped =
    job.deadlineAt && job.deadlineAt.getTime() <= now.getTime()
      ? "deadline"
      : remaining === 0
        ? "budget"
        : null;
  return { stopped, remaining };
}

/** Why the job must not start new work now, or null. */
export async function limitReached(jobId: string, now = new Date()): Promise<StopReason | null> {
  return (await jobLimits(jobId, now)).stopped;
}

/**
 * The leading items, in order, whose worst-case costs add up to at most
 * `remaining` (all of them when there is no budget). In order rather than
 * best fit, so the results a budget cuts short are the first N items.
 */
export function admitWithinBudget<T>(
  items: readonly T[],
  worstCase: (item: T) => number,
  remaining: number | null,
): T[] {
  if (remaining === null) return [...items];
  let left = remaining;
  let count = 0;
  for (const item of items) {
    const cost = worstCase(item);
    if (cost > left) break;
    left -= cost;
    count++;
  }
  return items.slice(0, count);
}
