/**
 * Jobs accepted but never handed to the orchestrator: the app died between
 * writing the job's row and sending its `job/<kind>.requested`, or the
 * orchestrator could not be reached even after create's retries. Such a job
 * would stay queued forever; the sweeper (inngest/functions/resend-queued-
 * jobs.ts) sends their requests again.
 *
 * NOTE: this cannot tell a job with no run from one whose run waits for a
 * concurrency slot (both are queued), and it need not: the request's event id
 * is the job's (lib/jobs/events.ts), and Inngest keeps one event per id and
 * one run per job (the functions' idempotency key), for 24 hours. A repeat
 * for a job that has its run changes nothing.
 */
import "server-only";
import { db } from "@/lib/db";
import type { DispatchedJob } from "@/lib/jobs/dispatch";

/** Longer than create's own send with its retries takes, so a send in progress is not doubled. */
export const RESEND_AFTER_MS = 30_000;
/** Per sweep, oldest first; a backlog beyond it is sent by the next sweeps. */
const RESEND_LIMIT = 500;

export async function jobsToResend(
  options: { olderThanMs?: number; limit?: number } = {},
): Promise<DispatchedJob[]> {
  const olderThanMs = options.olderThanMs ?? RESEND_AFTER_MS;
  return db.job.findMany({
    where: { status: "queued", createdAt: { lt: new Date(Date.now() - olderThanMs) } },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    take: options.limit ?? RESEND_LIMIT,
    select: { id: true, kind: true, ownerId: true, correlationId: true },
  });
}
