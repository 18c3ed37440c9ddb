/**
 * The tokens of a job's model calls, written with the step that made them
 * (`job_usage`, keyed by job, step and n, so a retried step counts nothing
 * twice). lib/jobs/cost.ts turns them into money.
 */
import "server-only";
import type { UsageMode } from "@/lib/ai/pricing";
import type { Prisma } from "@/lib/generated/prisma/client";

export interface StepUsage {
  modelId: string;
  mode: UsageMode;
  /** Model calls these tokens are the sum of. */
  calls: number;
  inputTokens: number;
  outputTokens: number;
}

/** Writes a step's usage inside the caller's transaction; a repeat of the step writes nothing. */
export async function insertStepUsage(
  tx: Prisma.TransactionClient,
  jobId: string,
  step: string,
  usage: readonly StepUsage[],
): Promise<void> {
  const records = usage.filter((record) => record.calls > 0);
  if (records.length === 0) return;
  await tx.jobUsage.createMany({
    data: records.map((record, n) => ({ jobId, step, n, ...record })),
    skipDuplicates: true,
  });
}

/** Sums the tokens of several calls of one model in one mode. */
export function sumUsage(
  modelId: string,
  mode: UsageMode,
  calls: ReadonlyArray<{ inputTokens: number; outputTokens: number }>,
): StepUsage {
  return {
    modelId,
    mode,
    calls: calls.length,
    inputTokens: calls.reduce((sum, call) => sum + call.inputTokens, 0),
    outputTokens: calls.reduce((sum, call) => sum + call.outputTokens, 0),
  };
}
