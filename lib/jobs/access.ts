/**
 * Who may see or act on a job: its owner; anyone when the owner turned the
 * share link on (read only); anyone with a valid signed token from an email
 * (read and act, like the owner, on that one job). Everyone else is told the
 * job does not exist, so ids cannot be probed.
 */
import "server-only";
import { db } from "@/lib/db";
import { DomainError } from "@/lib/errors";
import { checkJobAccessToken } from "@/lib/jobs/access-token";
import { jobIdSchema } from "@/lib/jobs/schemas";

type JobAccess = "owner" | "token" | "share";
export type AccessNeed = "read" | "act" | "own";

const accessSelect = {
  id: true,
  ownerId: true,
  kind: true,
  status: true,
  correlationId: true,
  shareEnabled: true,
  lastSeq: true,
} as const;

const jobNotFound = () => new DomainError("job_not_found");

/** A job as the access check returns it: what acting on it needs, nothing more. */
export type AuthorizedJob = Awaited<ReturnType<typeof authorizeJob>>["job"];

export async function authorizeJob(
  viewer: { ownerId: string | null },
  jobId: string,
  token: string | null | undefined,
  need: AccessNeed,
) {
  if (!jobIdSchema.safeParse(jobId).success) throw jobNotFound();
  const job = await db.job.findUnique({ where: { id: jobId }, select: accessSelect });
  if (!job) throw jobNotFound();
  let access: JobAccess | null = null;
  if (viewer.ownerId && viewer.ownerId === job.ownerId) access = "owner";
  else if (token && need !== "own" && checkJobAccessToken(job.id, token) === "valid")
    access = "token";
  else if (job.shareEnabled && need === "read") access = "share";
  if (!access) throw jobNotFound();
  return { job, access };
}
