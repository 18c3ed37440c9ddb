/**
 * A research plan's approval, the human-in-the-loop part of a research job:
 * the job waits for input with the plan, its owner is emailed, and the run
 * waits for `job/input.provided` (sent by jobs.respond, lib/jobs/respond.ts).
 * An answer edits or approves the plan; no answer within the timeout lets
 * the research go ahead with the plan as it was.
 */
import type { JobRun } from "@/inngest/functions/_lib/job-function";
import { writeJobStep } from "@/inngest/functions/_lib/job-step";
import { db } from "@/lib/db";
import { jobInputProvided, jobOutcomeEvent, SAME_JOB } from "@/lib/jobs/events";
import { jobResponseSchema, type JobResponse } from "@/lib/jobs/schemas";

/** How long a plan waits for approval before the research goes ahead with it. */
const APPROVAL_TIMEOUT = "24h";
// NOTE: a wait only sees events sent after it began. An answer given in the
// instant between the request and the wait is recorded in the log by
// jobs.respond, so after a short first wait the log is checked before waiting on.
const FIRST_WAIT = "10s";

export const numberedPlan = (items: readonly string[]) =>
  items.map((item, i) => `${i + 1}. ${item}`).join("\n");

/**
 * The body of the `request-plan-approval` step: the job waits for input with
 * the plan. Returns the seq of the request, after which an answer counts.
 * A job cancelled meanwhile refuses the write, and that ends the run once.
 */
export async function requestPlanApproval(
  jobId: string,
  plan: readonly string[],
): Promise<{ seq: number }> {
  await writeJobStep(jobId, "request-plan-approval", {
    status: "waiting_for_input",
    events: [
      {
        type: "input.requested",
        data: {
          prompt: "Approve the research plan, or edit the sub-questions, to start searching.",
          plan: [...plan],
        },
      },
    ],
  });
  // A retried step appends nothing, so the request's seq is read back, not taken from the write.
  const latest = await db.jobEvent.findFirst({
    where: { jobId, type: "input.requested" },
    orderBy: { seq: "desc" },
    select: { seq: true },
  });
  return { seq: latest?.seq ?? 0 };
}

async function recordedAnswer(jobId: string, afterSeq: number): Promise<JobResponse | null> {
  const event = await db.jobEvent.findFirst({
    where: { jobId, type: "input.provided", seq: { gt: afterSeq } },
    orderBy: { seq: "desc" },
    select: { data: true },
  });
  const parsed = jobResponseSchema.safeParse(event?.data);
  return parsed.success ? parsed.data : null;
}

async function waitForPlanAnswer(job: JobRun, requestSeq: number): Promise<JobResponse | null> {
  const wait = { event: jobInputProvided, if: SAME_JOB } as const;
  const first = await job.step.waitForEvent("wait-for-plan-approval", {
    ...wait,
    timeout: FIRST_WAIT,
  });
  if (first) return first.data.response;
  const early = await job.step.run("check-recorded-answer", () =>
    recordedAnswer(job.id, requestSeq),
  );
  if (early) return early;
  const later = await job.step.waitForEvent("wait-longer-for-plan-approval", {
    ...wait,
    timeout: APPROVAL_TIMEOUT,
  });
  if (later) return later.data.response;
  return job.step.run("check-recorded-answer-again", () => recordedAnswer(job.id, requestSeq));
}

/** Asks the owner to approve `plan`, waits, and returns the plan to research. */
export async function settlePlan(job: JobRun, plan: string[]): Promise<string[]> {
  const request = await job.step.run("request-plan-approval", () =>
    requestPlanApproval(job.id, plan),
  );
  await job.step.sendEvent("notify-needs-input", jobOutcomeEvent(job.id, "needs_input"));
  const answer = await waitForPlanAnswer(job, request.seq);
  const settled = answer?.action === "edit" ? answer.plan : plan;
  const title = !answer
    ? "Research plan (no answer; went ahead)"
    : answer.action === "edit"
      ? "Research plan (edited)"
      : "Research plan (approved)";
  await job.write("resume-research", {
    status: "running",
    events: [{ type: "partial", data: { key: "plan", title, text: numberedPlan(settled) } }],
  });
  return settled;
}
