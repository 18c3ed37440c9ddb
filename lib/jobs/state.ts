/**
 * The job lifecycle. Every status change goes through `assertTransition`, so
 * a late or retried step can never move a finished job back to running.
 */
import type { JobStatus } from "@/lib/jobs/schemas";

const allowed: Record<JobStatus, readonly JobStatus[]> = {
  queued: ["running", "failed", "cancelled"],
  running: ["waiting_for_input", "completed", "failed", "cancelled"],
  waiting_for_input: ["running", "completed", "failed", "cancelled"],
  completed: [],
  failed: [],
  cancelled: [],
};

export class InvalidTransitionError extends Error {
  override name = "InvalidTransitionError";
  constructor(
    readonly jobId: string,
    readonly from: JobStatus,
    readonly to: JobStatus,
  ) {
    super(`Job ${jobId} cannot go from ${from} to ${to}`);
  }
}

/** Staying in the same state is allowed (a retried step repeats its write). */
function canTransition(from: JobStatus, to: JobStatus): boolean {
  return from === to || allowed[from].includes(to);
}

export function assertTransition(jobId: string, from: JobStatus, to: JobStatus): void {
  if (!canTransition(from, to)) throw new InvalidTransitionError(jobId, from, to);
}
