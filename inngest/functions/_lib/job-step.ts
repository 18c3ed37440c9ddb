/**
 * How Dispatch's Inngest functions write to a job. Every step:
 *  - records `step.started` (with a label for the timeline) when it begins,
 *  - does its work,
 *  - commits its outputs and `[step.started, …its events, step.completed]`
 *    in one transaction. The event log skips the keys it already holds, so
 *    the repeated `step.started` and any retry of the whole step duplicate
 *    nothing.
 * Both writes assert the job is still running: once the job is cancelled (or
 * otherwise finished) the next write refuses, and that refusal is not
 * retried, so a cancelled job keeps its partial results and nothing is
 * written after its `job.cancelled`.
 */
import { NonRetriableError, type GetStepTools } from "inngest";
import { z } from "zod";
import { inngest } from "@/inngest/client";
import { jobOutcomeEvent } from "@/lib/email/events";
import {
  commitStep,
  InvalidTransitionError,
  JobFinishedError,
  JobNotFoundError,
  type StepOutputs,
} from "@/lib/jobs/event-log";
import { jobErrorSchema, jobIdSchema, type JobError, type NewJobEvent } from "@/lib/jobs/schemas";
import { ModelConfigError } from "@/lib/ai/models";
import { ingestErrorCodes } from "@/lib/ingest/errors";
import { db } from "@/lib/db";
import { logger } from "@/lib/logger";

export type StepTools = GetStepTools<typeof inngest>;

/** What `job/<kind>.requested` carries. */
export const jobRequestedDataSchema = z.object({
  jobId: jobIdSchema,
  ownerId: z.uuid(),
  correlationId: z.string().min(1).max(200),
});
export type JobRequestedData = z.infer<typeof jobRequestedDataSchema>;

/**
 * The per-owner cap, through Inngest's concurrency key. NOTE: Inngest counts
 * steps executing, not runs that exist (a run between steps, sleeping or
 * waiting for input holds no slot), so this bounds how much model and fetch
 * work one owner has in flight across all their jobs, including one job's
 * parallel map; other owners' jobs are not held up by it.
 */
export const OWNER_CONCURRENCY_LIMIT = 4;

/** The flow-control options both job functions share. */
export const jobFunctionOptions = {
  idempotency: "event.data.jobId",
  concurrency: { key: "event.data.ownerId", limit: OWNER_CONCURRENCY_LIMIT },
  cancelOn: [{ event: "job/cancel.requested", if: "async.data.jobId == event.data.jobId" }],
  retries: 3 as const,
};

/**
 * A failure with a code and a message fit for the user. Thrown as a
 * NonRetriableError (retrying would fail the same way); `onFailure` reads the
 * code back from the message, the only part of an error that survives the trip
 * through the orchestrator.
 */
export function jobFailure(
  code: JobFailureCode,
  message: string,
  cause?: unknown,
): NonRetriableError {
  return new NonRetriableError(`${code}: ${message}`, { cause });
}

/**
 * The codes whose messages Dispatch wrote for users. Only these are shown:
 * any other error (a library's, the database's) may carry internals, so the
 * job gets a generic message and the details go to the log.
 */
const jobFailureCodes = [
  ...ingestErrorCodes,
  "invalid_input",
  "document_not_found",
  "document_changed",
  "job_finished",
  "job_not_found",
  "model_unavailable",
  "model_not_configured",
] as const;
export type JobFailureCode = (typeof jobFailureCodes)[number];

export function jobErrorFromMessage(message: string | undefined): JobError | null {
  const match = /^([a-z][a-z0-9_]*): ([\s\S]+)$/.exec(message ?? "");
  if (!match || !(jobFailureCodes as readonly string[]).includes(match[1]!)) return null;
  const parsed = jobErrorSchema.safeParse({ code: match[1], message: match[2]!.slice(0, 2000) });
  return parsed.success ? parsed.data : null;
}

/** Refusals of the event log mean the job is over (or gone): never worth a retry. */
async function write(jobId: string, step: string, outputs: StepOutputs) {
  try {
    return await commitStep(jobId, step, outputs);
  } catch (error) {
    if (error instanceof InvalidTransitionError || error instanceof JobFinishedError) {
      throw jobFailure(
        "job_finished",
        "The job had already finished (for example, it was cancelled).",
        error,
      );
    }
    if (error instanceof JobNotFoundError)
      throw jobFailure("job_not_found", "The job no longer exists.", error);
    throw error;
  }
}

export interface StepResult<T> {
  value: T;
  outputs?: Omit<StepOutputs, "events">;
  events?: NewJobEvent[];
}

/**
 * One `step.run` that reports to the job's log. The Inngest step id is also
 * the step name in the log, so the timeline shows what the function ran.
 */
export function jobStep<T>(
  step: StepTools,
  jobId: string,
  id: string,
  label: string,
  work: () => Promise<StepResult<T>>,
) {
  return step.run(id, async () => {
    const started: NewJobEvent = { type: "step.started", data: { label } };
    await write(jobId, id, { status: "running", events: [started] });
    const result = await work();
    await write(jobId, id, {
      ...result.outputs,
      status: result.outputs?.status ?? "running",
      events: [started, ...(result.events ?? []), { type: "step.completed", data: {} }],
    });
    return result.value;
  });
}

/** A write that is a step of its own (a status change with no work around it). */
export function jobWrite(step: StepTools, jobId: string, id: string, outputs: StepOutputs) {
  return step.run(id, async () => {
    await write(jobId, id, outputs);
    return null;
  });
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
export async function markJobFailed(input: { event: unknown; error: Error }): Promise<void> {
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
    if (
      failure instanceof InvalidTransitionError ||
      failure instanceof JobFinishedError ||
      failure instanceof JobNotFoundError
    )
      return;
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

/**
 * A model call inside a step. A missing or broken configuration will not fix
 * itself, so it is not retried; anything else (rate limits, a server error,
 * a dropped connection) is, by the step, and if it keeps failing the job ends
 * with a message that names the model, not a stack trace.
 */
export async function callModel<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ModelConfigError)
      throw jobFailure("model_not_configured", error.message, error);
    throw new Error(
      "model_unavailable: The language model did not answer, even after several attempts. Try again later.",
      {
        cause: error,
      },
    );
  }
}
