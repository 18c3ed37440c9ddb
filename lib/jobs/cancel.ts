/**
 * Cancelling a job, for jobs.cancel: the request is recorded in the log
 * first (a queued job is cancelled at once), then the orchestrator is told,
 * so the running function stops at its next step boundary and
 * finish-cancelled-job writes the end.
 */
import "server-only";
import { DomainError } from "@/lib/errors";
import type { AuthorizedJob } from "@/lib/jobs/access";
import { jobDispatcher } from "@/lib/jobs/dispatch";
import { requestCancel } from "@/lib/jobs/event-log";
import { isTerminal, type JobStatus } from "@/lib/jobs/schemas";
import { logger } from "@/lib/logger";

export async function cancelJob(job: AuthorizedJob): Promise<{ status: JobStatus }> {
  if (isTerminal(job.status)) return { status: job.status };
  const { status } = await requestCancel(job.id);
  if (status !== "cancelled" && isTerminal(status)) return { status };
  // Sent even when a queued job was cancelled here: its run may already be starting.
  try {
    await jobDispatcher().sendCancelRequested(job);
  } catch (error) {
    logger.error("jobs.cancel_dispatch_failed", {
      jobId: job.id,
      correlationId: job.correlationId,
      error,
    });
    if (status !== "cancelled") throw new DomainError("cancel_not_delivered", { cause: error });
  }
  return { status };
}
