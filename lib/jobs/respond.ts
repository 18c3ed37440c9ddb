/**
 * Answering a job that waits for input (a research plan to approve or edit),
 * for jobs.respond. The answer is recorded in the log first, keyed by the
 * request it answers, so a double submit records one answer; then it is sent
 * to the waiting run under an event id named for that request, so a resend
 * (after a failed send, or a second click) is one event to the orchestrator.
 */
import "server-only";
import { db } from "@/lib/db";
import { DomainError } from "@/lib/errors";
import type { AuthorizedJob } from "@/lib/jobs/access";
import { jobDispatcher } from "@/lib/jobs/dispatch";
import { appendJobEvents, idempotencyKey } from "@/lib/jobs/event-log";
import { jobResponseSchema, type JobResponse } from "@/lib/jobs/schemas";

export async function respondToJob(
  job: AuthorizedJob,
  response: JobResponse,
): Promise<{ recorded: boolean }> {
  if (job.status !== "waiting_for_input") throw new DomainError("not_waiting_for_input");
  const request = await db.jobEvent.findFirst({
    where: { jobId: job.id, type: "input.requested" },
    orderBy: { seq: "desc" },
    select: { seq: true },
  });
  const step = `respond-${request?.seq ?? 0}`;
  const { appended } = await db.$transaction((tx) =>
    appendJobEvents(tx, job.id, step, [{ type: "input.provided", data: { ...response } }]),
  );
  // A retry sends the answer recorded first, whatever this call was given.
  const recorded =
    appended[0] ??
    (await db.jobEvent.findUnique({
      where: { idempotencyKey: idempotencyKey(job.id, step, 0) },
      select: { data: true },
    }));
  await jobDispatcher().sendInputProvided(
    job,
    jobResponseSchema.parse(recorded?.data),
    `${job.id}-${step}`,
  );
  return { recorded: appended.length > 0 };
}
