/**
 * How the app tells the orchestrator about jobs: Inngest events carrying the
 * job id, the owner and the correlation id. Swappable so tests (and tools
 * that run without an orchestrator) can record or fail the sends.
 */
import "server-only";
import type { JobKind, JobResponse } from "@/lib/jobs/schemas";

export interface DispatchedJob {
  id: string;
  kind: JobKind;
  ownerId: string;
  correlationId: string;
}

export interface JobDispatcher {
  sendJobRequested(job: DispatchedJob): Promise<void>;
  sendCancelRequested(job: DispatchedJob): Promise<void>;
  /** `eventId` is the same for every send of one answer, so the orchestrator keeps one. */
  sendInputProvided(job: DispatchedJob, response: JobResponse, eventId: string): Promise<void>;
}

/** Event names, `domain/noun.verb`. */
export const jobEventNames = {
  requested: (kind: JobKind) => `job/${kind}.requested` as const,
  cancelRequested: "job/cancel.requested",
  inputProvided: "job/input.provided",
} as const;

async function inngestClient() {
  // Loaded on first use, so modules that only read jobs never load the SDK.
  const { inngest } = await import("@/inngest/client");
  return inngest;
}

export const inngestDispatcher: JobDispatcher = {
  async sendJobRequested(job) {
    await (
      await inngestClient()
    ).send({
      // The id makes a repeated send of the same request a no-op in Inngest.
      id: `${job.id}-requested`,
      name: jobEventNames.requested(job.kind),
      data: { jobId: job.id, ownerId: job.ownerId, correlationId: job.correlationId },
    });
  },
  async sendCancelRequested(job) {
    await (
      await inngestClient()
    ).send({
      name: jobEventNames.cancelRequested,
      data: { jobId: job.id, correlationId: job.correlationId },
    });
  },
  async sendInputProvided(job, response) {
    await (
      await inngestClient()
    ).send({
      name: jobEventNames.inputProvided,
      data: { jobId: job.id, correlationId: job.correlationId, response },
    });
  },
};

let current: JobDispatcher = inngestDispatcher;

export function jobDispatcher(): JobDispatcher {
  return current;
}

/** Replaces the dispatcher (tests); returns a function that restores the previous one. */
export function setJobDispatcher(dispatcher: JobDispatcher): () => void {
  const previous = current;
  current = dispatcher;
  return () => {
    current = previous;
  };
}
