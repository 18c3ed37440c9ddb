/**
 * `createJobFunction`: what every job kind's Inngest function shares, so a
 * kind's file holds only its own steps. It gives the function its trigger
 * (`job/<kind>.requested`, lib/jobs/events.ts), the flow-control options,
 * `onFailure` (the job ends failed with a message the user can act on),
 * parses the event, marks the job running, and once the kind's steps are
 * done sends the `completed` outcome that emails the owner.
 */
import { z } from "zod";
import { inngest } from "@/inngest/client";
import {
  jobErrorFromMessage,
  jobStep,
  jobWrite,
  type StepResult,
  type StepTools,
} from "@/inngest/functions/_lib/job-step";
import { db } from "@/lib/db";
import { commitStep, isRefusedWrite, type StepOutputs } from "@/lib/jobs/event-log";
import {
  jobCancelRequested,
  jobOutcomeEvent,
  jobRequestedDataSchema,
  jobRequestedEvents,
  SAME_JOB,
} from "@/lib/jobs/events";
import type { JobError, JobKind, NewJobEvent } from "@/lib/jobs/schemas";
import { logger } from "@/lib/logger";

/**
 * The per-owner cap, through Inngest's concurrency key. NOTE: Inngest counts
 * steps executing, not runs that exist (a run between steps, sleeping or
 * waiting for input holds no slot), so this bounds how much model and fetch
 * work one owner has in flight across all their jobs, including one job's
 * parallel map; other owners' jobs are not held up by it.
 */
export const OWNER_CONCURRENCY_LIMIT = 4;

/** The flow-control options every job function shares. */
const jobFunctionOptions = {
  idempotency: "event.data.jobId",
  concurrency: { key: "event.data.ownerId", limit: OWNER_CONCURRENCY_LIMIT },
  cancelOn: [{ event: jobCancelRequested.name, if: SAME_JOB }],
  retries: 3 as const,
};

/** One run of a job function: the job it works on and the ways it may write to it. */
export interface JobRun {
  id: string;
  ownerId: string;
  correlationId: string;
  /** Inngest's step tools, for what is not a write to the job (waits, sends). */
  step: StepTools;
  /** A `step.run` that reports to the job's log (see `jobStep`). */
  run<T>(
    id: string,
    label: string,
    work: () => Promise<StepResult<T>>,
  ): ReturnType<typeof jobStep<T>>;
  /** A step that only writes to the job (a status change with no work around it). */
  write(id: string, outputs: StepOutputs): Promise<null>;
}

export function createJobFunction<TResult>(definition: {
  /** The Inngest function id, kebab-case. */
  id: string;
  kind: JobKind;
  /** The kind's own steps; the job is running when it starts and completed when it returns. */
  handler: (job: JobRun) => Promise<TResult>;
}) {
  return inngest.createFunction(
    {
      id: definition.id,
      triggers: [jobRequestedEvents[definition.kind]],
      ...jobFunctionOptions,
      onFailure: markJobFailed,
    },
    async ({ event, step }) => {
      const { jobId, ownerId, correlationId } = jobRequestedDataSchema.parse(event.data);
      await jobWrite(step, jobId, "mark-job-running", { status: "running" });
      const result = await definition.handler({
        id: jobId,
        ownerId,
        correlationId,
        step,
        run: (id, label, work) => jobStep(step, jobId, id, label, work),
        write: (id, outputs) => jobWrite(step, jobId, id, outputs),
      });
      await step.sendEvent("notify-outcome", jobOutcomeEvent(jobId, "completed"));
      return result;
    },
  );
}

const failedEventSchema = z.object({
  data: z.object({
    error: z.object({ message: z.string().optional() }).passthrough().optional(),
    event: z.object({ data: jobRequestedDataSchema.partial() }),
  }),
});

/**
 * `onFailure`: the run gave up (retries exhausted or a non-retriable error),
 * so the job ends failed with a message the user can act on. If the job had
 * already finished (cancelled while a step ran), nothing changes.
 */
async function markJobFailed(input: { event: unknown; error: Error }): Promise<void> {
  const parsed = failedEventSchema.safeParse(input.event);
  const jobId = parsed.success ? parsed.data.data.event.data.jobId : undefined;
  if (!jobId) {
    logger.error("jobs.failure_without_job", { error: input.error });
    return;
  }
  const correlationId = parsed.success ? parsed.data.data.event.data.correlationId : undefined;
  const known = jobErrorFromMessage(input.error.message);
  if (known?.code === "job_finished" || known?.code === "job_not_found") return;
  const error: JobError = known ?? {
    code: "job_error",
    message: `Something went wrong while running this job and retrying did not help.${correlationId ? ` Reference: ${correlationId}.` : ""}`,
  };
  logger.error("jobs.failed", { jobId, correlationId, code: error.code, error: input.error });
  try {
    await markUnfinishedStepsFailed(jobId, error.message);
    await commitStep(jobId, "fail", { status: "failed", error });
    // The event id is the notification key, so a repeated onFailure sends it once.
    await inngest.send(jobOutcomeEvent(jobId, "failed"));
  } catch (failure) {
    if (isRefusedWrite(failure)) return;
    throw failure;
  }
}

/**
 * The steps that started and never completed are the ones that failed: each
 * gets its `step.failed`, so the timeline shows where the job stopped. The
 * step's own `step.started` is repeated first, as the step would have, so the
 * event lands at the next index of that step's log.
 */
async function markUnfinishedStepsFailed(jobId: string, message: string): Promise<void> {
  const events = await db.jobEvent.findMany({
    where: { jobId, type: { in: ["step.started", "step.completed"] } },
    orderBy: { seq: "asc" },
    select: { type: true, step: true, data: true },
  });
  const open = new Map<string, NewJobEvent>();
  for (const event of events) {
    if (event.type === "step.started")
      open.set(event.step, { type: event.type, data: event.data as Record<string, unknown> });
    else open.delete(event.step);
  }
  for (const [step, started] of open) {
    const stepEvents = await db.jobEvent.count({ where: { jobId, step } });
    // Only a step that wrote nothing but its start: anything else would not line up with its log.
    if (stepEvents !== 1) continue;
    await commitStep(jobId, step, {
      events: [started, { type: "step.failed", data: { message } }],
    });
  }
}
