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
import type { inngest } from "@/inngest/client";
import { retryDelay } from "@/lib/chat/retry-policy";
import { retryIfDatabaseUnavailable } from "@/lib/db/errors";
import {
  commitStep,
  isRefusedWrite,
  JobNotFoundError,
  recordedStepValue,
  type StepOutputs,
} from "@/lib/jobs/event-log";
import { isTerminal, jobErrorSchema, type JobError, type NewJobEvent } from "@/lib/jobs/schemas";
import { setTimeout as sleep } from "node:timers/promises";
import { ModelConfigError } from "@/lib/ai/models";
import { modelInfo } from "@/lib/ai/providers";
import { sumUsage, type StepUsage } from "@/lib/jobs/usage";
import { ingestErrorCodes } from "@/lib/ingest/errors";

export type StepTools = GetStepTools<typeof inngest>;

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
  "batch_failed",
] as const;
type JobFailureCode = (typeof jobFailureCodes)[number];

export function jobErrorFromMessage(message: string | undefined): JobError | null {
  const match = /^([a-z][a-z0-9_]*): ([\s\S]+)$/.exec(message ?? "");
  if (!match || !(jobFailureCodes as readonly string[]).includes(match[1]!)) return null;
  const parsed = jobErrorSchema.safeParse({ code: match[1], message: match[2]!.slice(0, 2000) });
  return parsed.success ? parsed.data : null;
}

/**
 * `commitStep` for use inside a step: refusals of the event log mean the job
 * is over (or gone), so they end the run once instead of being retried.
 * NOTE: every write a job function makes goes through here (or through
 * `jobStep`/`jobWrite`, which use it); a bare `commitStep` would turn a
 * refusal after a cancel into an ordinary, retried error.
 */
export async function writeJobStep(jobId: string, step: string, outputs: StepOutputs) {
  try {
    return await commitStepPatiently(jobId, step, outputs);
  } catch (error) {
    throw refusalAsFailure(error);
  }
}

/**
 * `commitStep`, waiting out a database restart (up to about 15 s): the step's
 * work is done, and failing the step would make the orchestrator retry it
 * after a backoff and do the work again. A repeat is safe: a commit that went
 * through before its answer was lost is found by its idempotency keys.
 */
function commitStepPatiently(jobId: string, step: string, outputs: StepOutputs) {
  return retryIfDatabaseUnavailable(() => commitStep(jobId, step, outputs), DATABASE_RESTART);
}

/** How long a step waits for a restarting database: about 15 s, looking twice a second. */
const DATABASE_RESTART = { retries: 30, delayMs: 500 };

function refusalAsFailure(error: unknown): unknown {
  if (error instanceof JobNotFoundError)
    return jobFailure("job_not_found", "The job no longer exists.", error);
  if (isRefusedWrite(error))
    return jobFailure(
      "job_finished",
      "The job had already finished (for example, it was cancelled).",
      error,
    );
  return error;
}

/**
 * Records a step's start. A refusal is the end of the run, except for a retry
 * of the step that finished the job itself: its first attempt committed (the
 * job's last write) but its result never reached the orchestrator (a killed
 * app, a dropped connection). That step is done: its recorded value is
 * returned, so the run goes on to send its outcome (and its email).
 */
async function startStep(
  jobId: string,
  step: string,
  started: NewJobEvent,
): Promise<{ done: false } | { done: true; value: unknown }> {
  try {
    await commitStepPatiently(jobId, step, { status: "running", events: [started] });
    return { done: false };
  } catch (error) {
    if (isRefusedWrite(error) && !(error instanceof JobNotFoundError)) {
      const recorded = await recordedStepValue(jobId, step);
      if (recorded) return { done: true, value: recorded.value };
    }
    throw refusalAsFailure(error);
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
    const start = await startStep(jobId, id, started);
    if (start.done) return start.value as T;
    // Work that met a database restart is done again once it is back, here: failed, the step
    // would be retried by the orchestrator after its backoff, to do the same.
    const result = await retryIfDatabaseUnavailable(work, DATABASE_RESTART);
    const status = result.outputs?.status ?? "running";
    // Only a step that finishes the job records its value: any other step, retried, runs
    // again and its writes repeat nothing, but after the job's last write none is allowed.
    const completed: NewJobEvent = {
      type: "step.completed",
      data: isTerminal(status) ? { value: result.value ?? null } : {},
    };
    await writeJobStep(jobId, id, {
      ...result.outputs,
      status,
      events: [started, ...(result.events ?? []), completed],
    });
    return result.value;
  });
}

/** A write that is a step of its own (a status change with no work around it). */
export function jobWrite(step: StepTools, jobId: string, id: string, outputs: StepOutputs) {
  return step.run(id, async () => {
    await writeJobStep(jobId, id, outputs);
    return null;
  });
}

/**
 * A model call inside a step. A missing or broken configuration will not fix
 * itself, so it is not retried. A transient failure (a rate limit, a server
 * error, a refused connection) happens before any output, a safe boundary:
 * it is retried here at once, with the chat's short backoff and the server's
 * Retry-After (lib/chat/retry-policy.ts), rather than failing the step into
 * the orchestrator's much longer backoff. If it keeps failing, the step
 * fails (and is retried by the orchestrator) with a message that names the
 * model, not a stack trace.
 */
export async function callModel<T>(call: () => Promise<T>): Promise<T> {
  for (let retry = 0; ; retry++) {
    try {
      return await call();
    } catch (error) {
      if (error instanceof ModelConfigError)
        throw jobFailure("model_not_configured", error.message, error);
      const wait = retryDelay(error, retry);
      if (wait !== null) {
        await sleep(wait);
        continue;
      }
      throw new Error(
        "model_unavailable: The language model did not answer, even after several attempts. Try again later.",
        { cause: error },
      );
    }
  }
}

/**
 * The tokens of a step's live model calls (AI SDK results), for the job's
 * cost: pass as `outputs.usage`, so they are written with the step.
 */
export function liveUsage(
  calls: ReadonlyArray<{
    usage: { inputTokens: number | undefined; outputTokens: number | undefined };
  }>,
): StepUsage[] {
  return [
    sumUsage(
      modelInfo().modelId,
      "live",
      calls.map(({ usage }) => ({
        inputTokens: usage.inputTokens ?? 0,
        outputTokens: usage.outputTokens ?? 0,
      })),
    ),
  ];
}
