/**
 * What a job cost: its recorded tokens (lib/jobs/usage.ts) priced by the
 * model price table, in the modes the calls ran in and as if every call had
 * been live, the comparison economy mode shows.
 */
import "server-only";
import { modelPrices } from "@/lib/ai/providers";
import { referenceCost, summarizeCost, type CostSummary, type UsageRecord } from "@/lib/ai/pricing";
import { db } from "@/lib/db";

export interface JobCost extends CostSummary {
  inputTokens: number;
  outputTokens: number;
  calls: number;
  /** Whether any call went through a provider batch. */
  economy: boolean;
  /** When every call was free (the demo model): the same tokens at a paid model's list price. */
  reference: { modelId: string; micros: number; liveMicros: number } | null;
}

const emptyCost = (): JobCost => ({
  micros: 0,
  liveMicros: 0,
  unpricedModels: [],
  inputTokens: 0,
  outputTokens: 0,
  calls: 0,
  economy: false,
  reference: null,
});

/** The cost of each job (one grouped query for all of them); a job with no calls costs nothing. */
export async function jobCosts(jobIds: readonly string[]): Promise<Map<string, JobCost>> {
  const costs = new Map(jobIds.map((id) => [id, emptyCost()]));
  if (jobIds.length === 0) return costs;
  const groups = await db.jobUsage.groupBy({
    by: ["jobId", "modelId", "mode"],
    where: { jobId: { in: [...jobIds] } },
    _sum: { inputTokens: true, outputTokens: true, calls: true },
  });
  const records = new Map<string, UsageRecord[]>();
  for (const group of groups) {
    const cost = costs.get(group.jobId)!;
    const inputTokens = group._sum.inputTokens ?? 0;
    const outputTokens = group._sum.outputTokens ?? 0;
    cost.inputTokens += inputTokens;
    cost.outputTokens += outputTokens;
    cost.calls += group._sum.calls ?? 0;
    if (group.mode === "batch") cost.economy = true;
    const list = records.get(group.jobId) ?? [];
    list.push({ modelId: group.modelId, mode: group.mode, inputTokens, outputTokens });
    records.set(group.jobId, list);
  }
  for (const [jobId, list] of records) {
    Object.assign(costs.get(jobId)!, summarizeCost(list, modelPrices()), {
      reference: referenceCost(list, modelPrices()),
    });
  }
  return costs;
}

export async function jobCost(jobId: string): Promise<JobCost> {
  return (await jobCosts([jobId])).get(jobId)!;
}
