/**
 * What a batch job's page says about its provider batch, derived from the
 * `batch.status` events the poll steps write: the provider's state in
 * words ("queued at the provider", "in progress: 3,120 / 10,000",
 * "finalizing") and when it should be done. Pure; shared by server and client.
 */
import { z } from "zod";
import { BATCH_STATES } from "@/lib/ai/batch/types";
import type { ViewEvent } from "@/lib/jobs/view-model";

const providerStatusSchema = z.object({
  round: z.number().int(),
  state: z.enum(BATCH_STATES),
  total: z.number().int(),
  done: z.number().int(),
  failed: z.number().int().default(0),
  expectedFinish: z.iso.datetime().nullable().default(null),
  expiresAt: z.iso.datetime().nullable().default(null),
});
export type ProviderStatus = z.infer<typeof providerStatusSchema>;

/** The latest provider status the job recorded, if it ever submitted a batch. */
export function latestProviderStatus(events: readonly ViewEvent[]): ProviderStatus | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    if (event.type !== "batch.status") continue;
    const parsed = providerStatusSchema.safeParse(event.data);
    if (parsed.success) return parsed.data;
  }
  return null;
}

const count = (n: number) => n.toLocaleString("en");

export function providerStateText(status: ProviderStatus): string {
  const retry = status.round > 1 ? ` (retry round ${status.round})` : "";
  switch (status.state) {
    case "queued":
      return `Queued at the provider${retry}`;
    case "in_progress":
      return `In progress: ${count(status.done)} / ${count(status.total)}${retry}`;
    case "finalizing":
      return `Finalizing: the provider is writing the results${retry}`;
    case "completed":
      return `Completed at the provider: ${count(status.done)} / ${count(status.total)}${retry}`;
    case "expired":
      return `Expired at the provider after ${count(status.done)} / ${count(status.total)}${retry}`;
    case "cancelling":
      return `Cancelling at the provider${retry}`;
    case "cancelled":
      return `Cancelled at the provider after ${count(status.done)} / ${count(status.total)}${retry}`;
    case "failed":
      return `The provider refused the batch${retry}`;
  }
}
