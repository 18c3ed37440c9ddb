/** Every Inngest function the app serves at /api/inngest. */
import { cancelProviderBatches } from "@/inngest/functions/cancel-provider-batches";
import { finishCancelledJob } from "@/inngest/functions/finish-cancelled-job";
import { notifyJobOutcome } from "@/inngest/functions/notify-job-outcome";
import { researchQuestion } from "@/inngest/functions/research-question";
import { resendQueuedJobs } from "@/inngest/functions/resend-queued-jobs";
import { summarizeBatch } from "@/inngest/functions/summarize-batch";
import { summarizeDocument } from "@/inngest/functions/summarize-document";

export const functions = [
  summarizeDocument,
  researchQuestion,
  summarizeBatch,
  finishCancelledJob,
  cancelProviderBatches,
  notifyJobOutcome,
  resendQueuedJobs,
];
