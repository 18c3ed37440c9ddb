/**
 * How the app tells the orchestrator about jobs: the Inngest events of
 * lib/jobs/events.ts, carrying the job id, the owner and the correlation id.
 * Swappable so tests (and tools that run without an orchestrator) can record
 * or fail the sends (test/jobs.ts has a recording stub).
 */
import "server-only";
import {
  cancelRequestedEvent,
  inputProvidedEvent,
  jobRequestedEvent,
  type JobEventTarget,
} from "@/lib/jobs/events";
import type { JobResponse } from "@/lib/jobs/schemas";

export type DispatchedJob = JobEventTarget;

export interface JobDispatcher {
  sendJobRequested(job: DispatchedJob): Promise<void>;
  sendCancelRequested(job: DispatchedJob): Promise<void>;
  /** `eventId` is the same for every send of one answer, so the orchestrator keeps one. */
  sendInputProvided(job: DispatchedJob, response: JobResponse, eventId: string): Promise<void>;
}

async function send(event: { id?: string; name: string; data: Record<string, unknown> }) {
  // Loaded on first use, so modules that only read jobs never start the client.
  const { inngest } = await import("@/inngest/client");
  await inngest.send(event);
}

export const inngestDispatcher: JobDispatcher = {
  sendJobRequested: (job) => send(jobRequestedEvent(job)),
  sendCancelRequested: (job) => send(cancelRequestedEvent(job)),
  sendInputProvided: (job, response, eventId) => send(inputProvidedEvent(job, response, eventId)),
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
