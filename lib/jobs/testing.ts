/**
 * Test fixtures for jobs: an owner and a job row written straight to the
 * database, without the router or an orchestrator.
 */
import { randomUUID } from "node:crypto";
import { db } from "@/lib/db";
import type { JobStatus } from "@/lib/jobs/schemas";
import { newJobId } from "@/lib/jobs/ids";

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
