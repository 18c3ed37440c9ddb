/**
 * The job-event contract: every Inngest event a job sends or receives, each
 * with its name (`domain/noun.verb`) and its zod data schema, defined once.
 * The dispatcher sends them, the Inngest functions are triggered by and wait
 * for them, and the email notifier listens for the outcome; nobody spells an
 * event name anywhere else.
 *
 * They are Inngest `eventType`s, so the SDK validates the data against the
 * schema both when an event is sent and before a function sees it.
 *
 * Adding a job kind: add it to `jobKinds` (lib/jobs/schemas.ts) and to the
 * `job_kind` enum (prisma/schema.prisma and a migration), give it its
 * entry in `jobRequestedEvents` below (the compiler asks for it), write its
 * function in one file with `createJobFunction` (inngest/functions/_lib/
 * job-function.ts) and list it in inngest/functions/index.ts.
 */
import { eventType } from "inngest";
import { z } from "zod";
import { jobIdSchema, jobResponseSchema, type JobKind, type JobResponse } from "@/lib/jobs/schemas";

const correlationIdSchema = z.string().min(1).max(200);

/** What `job/<kind>.requested` carries: the job's input is its row, not the event. */
export const jobRequestedDataSchema = z.object({
  jobId: jobIdSchema,
  ownerId: z.uuid(),
  correlationId: correlationIdSchema,
});

const requested = <K extends JobKind>(kind: K) =>
  eventType(`job/${kind}.requested`, { schema: jobRequestedDataSchema });

/**
 * One trigger per job kind; each kind's function listens for its own. A kind
 * whose request must carry more than the job reference gives its entry a
 * schema that extends `jobRequestedDataSchema`.
 */
export const jobRequestedEvents = {
  research: requested("research"),
  summarize: requested("summarize"),
  batch: requested("batch"),
} satisfies Record<JobKind, unknown>;

export const cancelRequestedDataSchema = z.object({
  jobId: jobIdSchema,
  correlationId: correlationIdSchema,
});
export const jobCancelRequested = eventType("job/cancel.requested", {
  schema: cancelRequestedDataSchema,
});

const inputProvidedDataSchema = z.object({
  jobId: jobIdSchema,
  correlationId: correlationIdSchema,
  response: jobResponseSchema,
});
export const jobInputProvided = eventType("job/input.provided", {
  schema: inputProvidedDataSchema,
});

const jobOutcomes = ["completed", "failed", "needs_input"] as const;
const jobOutcomeSchema = z.enum(jobOutcomes);
export type JobOutcome = z.infer<typeof jobOutcomeSchema>;

export const jobOutcomeReachedDataSchema = z.object({
  jobId: jobIdSchema,
  outcome: jobOutcomeSchema,
});
export type JobOutcomeReachedData = z.infer<typeof jobOutcomeReachedDataSchema>;
/** A job reached an outcome its owner may want an email about (inngest/functions/notify-job-outcome.ts). */
export const jobOutcomeReached = eventType("job/outcome.reached", {
  schema: jobOutcomeReachedDataSchema,
});

/**
 * How a cancel or an answer finds its run: the waiting (or cancellable) run's
 * trigger and the incoming event name the same job.
 */
export const SAME_JOB = "async.data.jobId == event.data.jobId";

/** The job fields every event about it carries. */
export interface JobEventTarget {
  id: string;
  kind: JobKind;
  ownerId: string;
  correlationId: string;
}

// NOTE: the builders below parse the data themselves and return plain
// payloads (`eventType(…).create()` adds a `validate` method that would make
// them unequal to what a test or a stub dispatcher records).

/** Its id makes a repeated send of the same request a no-op in Inngest. */
export function jobRequestedEvent(job: JobEventTarget) {
  return {
    id: `${job.id}-requested`,
    name: jobRequestedEvents[job.kind].name,
    data: jobRequestedDataSchema.parse({
      jobId: job.id,
      ownerId: job.ownerId,
      correlationId: job.correlationId,
    }),
  };
}

export function cancelRequestedEvent(job: JobEventTarget) {
  return {
    name: jobCancelRequested.name,
    data: cancelRequestedDataSchema.parse({ jobId: job.id, correlationId: job.correlationId }),
  };
}

/**
 * `eventId` is the same for every send of one answer (it names the request
 * answered), so Inngest keeps one event however often the answer is sent.
 */
export function inputProvidedEvent(job: JobEventTarget, response: JobResponse, eventId: string) {
  return {
    id: eventId,
    name: jobInputProvided.name,
    data: inputProvidedDataSchema.parse({
      jobId: job.id,
      correlationId: job.correlationId,
      response,
    }),
  };
}

/** `<jobId>:<outcome>`: the notification's unique key. */
export function notificationKey(data: JobOutcomeReachedData): string {
  return `${data.jobId}:${data.outcome}`;
}

/**
 * The event to send, e.g. `await step.sendEvent("notify-outcome",
 * jobOutcomeEvent(jobId, "completed"))`. Its id is the notification key, so
 * Inngest drops repeats of the same send; the notification row makes a repeat
 * that slips through harmless anyway.
 */
export function jobOutcomeEvent(jobId: string, outcome: JobOutcome) {
  const data = jobOutcomeReachedDataSchema.parse({ jobId, outcome });
  return { id: notificationKey(data), name: jobOutcomeReached.name, data };
}
