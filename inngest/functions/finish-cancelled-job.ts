/**
 * Ends a cancelled job. The job's own run stops at its next step boundary
 * through `cancelOn`, but a cancelled run gets no further call, so this
 * function, triggered by the same event, writes the `cancelled` state and
 * the closing `job.cancelled` event. What the run wrote before stays: the
 * partial results are kept. A job that finished first is left as it is.
 */
import { inngest } from "@/inngest/client";
import { commitStep, InvalidTransitionError, JobNotFoundError } from "@/lib/jobs/event-log";
import { cancelRequestedDataSchema, jobCancelRequested } from "@/lib/jobs/events";

export const finishCancelledJob = inngest.createFunction(
  {
    id: "finish-cancelled-job",
    triggers: [jobCancelRequested],
    idempotency: "event.data.jobId",
    retries: 5,
  },
  async ({ event, step }) => {
    const { jobId } = cancelRequestedDataSchema.parse(event.data);
    return step.run("mark-job-cancelled", async () => {
      try {
        const { status } = await commitStep(jobId, "cancel", { status: "cancelled" });
        return { status };
      } catch (error) {
        if (error instanceof InvalidTransitionError) return { status: error.from };
        if (error instanceof JobNotFoundError) return { status: null };
        throw error;
      }
    });
  },
);
