/**
 * Cancel, for economy mode: the job's run stops at its next step boundary
 * (`cancelOn`) and finish-cancelled-job ends the job, but a batch already at
 * the provider would run on (and be billed) without this. Triggered by the
 * same event, it asks the provider to stop every batch of the job that has
 * not ended. Jobs with no provider batch cost one query.
 */
import { inngest } from "@/inngest/client";
import { batchClient } from "@/lib/ai/providers";
import { batchHandleSchema, FINAL_BATCH_STATES } from "@/lib/ai/batch/types";
import { db } from "@/lib/db";
import { cancelRequestedDataSchema, jobCancelRequested } from "@/lib/jobs/events";

export const cancelProviderBatches = inngest.createFunction(
  {
    id: "cancel-provider-batches",
    triggers: [jobCancelRequested],
    idempotency: "event.data.jobId",
    retries: 5,
  },
  async ({ event, step }) => {
    const { jobId } = cancelRequestedDataSchema.parse(event.data);
    return step.run("cancel-provider-batches", async () => {
      const open = await db.providerBatch.findMany({
        where: { jobId, state: { notIn: [...FINAL_BATCH_STATES] } },
        select: { round: true, handle: true },
      });
      const states: string[] = [];
      for (const batch of open) {
        const status = await batchClient().cancel(batchHandleSchema.parse(batch.handle));
        await db.providerBatch.update({
          where: { jobId_round: { jobId, round: batch.round } },
          data: { state: status.state, updatedAt: new Date() },
          select: { round: true },
        });
        states.push(status.state);
      }
      return { cancelled: states };
    });
  },
);
