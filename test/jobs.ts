/**
 * Test fixtures for jobs: an owner and a job row written straight to the
 * database (without the router or an orchestrator), and a stub dispatcher
 * that records what would have been sent to the orchestrator.
 */
import { randomUUID } from "node:crypto";
import { db } from "@/lib/db";
import { setJobDispatcher, type DispatchedJob } from "@/lib/jobs/dispatch";
import { newJobId } from "@/lib/jobs/ids";
import type { JobResponse, JobStatus } from "@/lib/jobs/schemas";

export async function createTestOwner(): Promise<string> {
  const id = randomUUID();
  await db.owner.create({ data: { id }, select: { id: true } });
  return id;
}

export async function createTestJob(
  options: { ownerId?: string; status?: JobStatus; title?: string; createdAt?: Date } = {},
): Promise<{ id: string; ownerId: string }> {
  const ownerId = options.ownerId ?? (await createTestOwner());
  const id = newJobId();
  await db.job.create({
    data: {
      id,
      ownerId,
      kind: "research",
      status: options.status ?? "queued",
      title: options.title ?? "Test job",
      input: { kind: "research", question: "What is MVCC?", approvePlan: false },
      correlationId: randomUUID(),
      ...(options.createdAt ? { createdAt: options.createdAt } : {}),
    },
    select: { id: true },
  });
  return { id, ownerId };
}

export interface SentJobEvent {
  name: "requested" | "cancel" | "input";
  job: DispatchedJob;
  data?: JobResponse;
  eventId?: string;
}

/**
 * Replaces the dispatcher with one that records every send in `sent` (or
 * throws while `failSends` is set, as an unreachable orchestrator would).
 * Call `restore()` when done.
 */
export function stubJobDispatcher() {
  const stub = {
    sent: [] as SentJobEvent[],
    /** Sends tried, failed ones included. */
    attempts: 0,
    failSends: false,
    restore: () => {},
  };
  const record =
    (name: SentJobEvent["name"]) =>
    async (job: DispatchedJob, data?: JobResponse, eventId?: string) => {
      stub.attempts++;
      if (stub.failSends) throw new Error("orchestrator unreachable");
      stub.sent.push({ name, job, ...(data ? { data } : {}), ...(eventId ? { eventId } : {}) });
    };
  stub.restore = setJobDispatcher({
    sendJobRequested: record("requested"),
    sendCancelRequested: record("cancel"),
    sendInputProvided: record("input"),
  });
  return stub;
}
