/**
 * The event the jobs functions send when a job reaches an outcome its owner
 * may want an email about. The notify function (inngest/functions/notify-
 * job-outcome.ts) listens for it. Shared, no server imports.
 */
import { z } from "zod";
import { jobIdSchema } from "@/lib/jobs/schemas";

export const JOB_OUTCOME_EVENT = "job/outcome.reached";

export const jobOutcomes = ["completed", "failed", "needs_input"] as const;
export const jobOutcomeSchema = z.enum(jobOutcomes);
export type JobOutcome = z.infer<typeof jobOutcomeSchema>;

export const jobOutcomeEventDataSchema = z.object({
  jobId: jobIdSchema,
  outcome: jobOutcomeSchema,
});
export type JobOutcomeEventData = z.infer<typeof jobOutcomeEventDataSchema>;

/** `<jobId>:<outcome>`: the notification's unique key. */
export function notificationKey(data: JobOutcomeEventData): string {
  return `${data.jobId}:${data.outcome}`;
}

/**
 * The event to send, e.g. `await step.sendEvent("notify-outcome",
 * jobOutcomeEvent(jobId, "completed"))`. Its id is the notification key, so
 * Inngest drops repeats of the same send; the notification row makes a repeat
 * that slips through harmless anyway.
 */
export function jobOutcomeEvent(jobId: string, outcome: JobOutcome) {
  const data = jobOutcomeEventDataSchema.parse({ jobId, outcome });
  return { id: notificationKey(data), name: JOB_OUTCOME_EVENT, data };
}
