/**
 * The job event log: the only way events, progress, results and sources are
 * written. Each write is one transaction that
 *  1. locks the job row (so appends to one job are serialised and `seq` is
 *     handed out without gaps, in commit order),
 *  2. skips events whose idempotency key `<jobId>/<step>/<n>` already exists
 *     (a retried step repeats its writes and duplicates nothing),
 *  3. writes the step's outputs beside its events, and
 *  4. NOTIFYs `{id, seq}`, which Postgres delivers only on commit.
 * Subscribers read the rows themselves (lib/event-log/hub.ts); the payload is a hint.
 */
import "server-only";
import { db } from "@/lib/db";
import { Prisma } from "@/lib/generated/prisma/client";
import {
  isTerminal,
  jobErrorSchema,
  jobStatusSchema,
  newJobEventSchema,
  stepNameSchema,
  type JobError,
  type JobStatus,
  type NewJobEvent,
} from "@/lib/jobs/schemas";
import { assertTransition, InvalidTransitionError } from "@/lib/jobs/state";
import { insertStepUsage, type StepUsage } from "@/lib/jobs/usage";

export const JOB_EVENTS_CHANNEL = "dispatch_job_events";

export type Tx = Prisma.TransactionClient;

export const jobEventSelect = {
  seq: true,
  type: true,
  step: true,
  data: true,
  createdAt: true,
} as const satisfies Prisma.JobEventSelect;

export type StoredJobEvent = Prisma.JobEventGetPayload<{ select: typeof jobEventSelect }>;

export class JobNotFoundError extends Error {
  override name = "JobNotFoundError";
  constructor(readonly jobId: string) {
    super(`Job ${jobId} does not exist`);
  }
}

export function idempotencyKey(jobId: string, step: string, n: number): string {
  return `${jobId}/${step}/${n}`;
}

interface LockedJob {
  status: JobStatus;
  lastSeq: number;
  startedAt: Date | null;
}

async function lockJob(tx: Tx, jobId: string): Promise<LockedJob> {
  const rows = await tx.$queryRaw<
    Array<{ status: string; last_seq: number; started_at: Date | null }>
  >`
    SELECT status::text AS status, last_seq, started_at FROM jobs WHERE id = ${jobId} FOR UPDATE`;
  const row = rows[0];
  if (!row) throw new JobNotFoundError(jobId);
  return {
    status: jobStatusSchema.parse(row.status),
    lastSeq: row.last_seq,
    startedAt: row.started_at,
  };
}

interface AppendResult {
  /** The events this call wrote (none when every key existed already). */
  appended: StoredJobEvent[];
  /** The job's latest seq after the call. */
  lastSeq: number;
}

/**
 * Appends a step's events inside the caller's transaction. Idempotent per
 * (job, step, n): call it again with the same step and it writes nothing new.
 */
export async function appendJobEvents(
  tx: Tx,
  jobId: string,
  step: string,
  events: readonly NewJobEvent[],
): Promise<AppendResult> {
  stepNameSchema.parse(step);
  const parsed = events.map((event) => newJobEventSchema.parse(event));
  const job = await lockJob(tx, jobId);
  return appendLocked(tx, jobId, job.lastSeq, step, parsed);
}

/**
 * Writes the fresh events of a step (the row lock is held) and, in the same
 * single UPDATE of the job row, its new `last_seq`, any other column changes
 * the caller passes, and the NOTIFY: fewer round trips per step.
 */
async function appendLocked(
  tx: Tx,
  jobId: string,
  lastSeq: number,
  step: string,
  events: ReadonlyArray<{ type: string; data: Record<string, unknown> }>,
  options: { jobChanges?: Prisma.Sql[] } = {},
): Promise<AppendResult> {
  const keyed = events.map((event, i) => ({ ...event, key: idempotencyKey(jobId, step, i) }));
  // The row lock is held, so no one else can insert these keys before we do.
  const existing = keyed.length
    ? await tx.jobEvent.findMany({
        where: { idempotencyKey: { in: keyed.map((event) => event.key) } },
        select: { idempotencyKey: true },
      })
    : [];
  const seen = new Set(existing.map((row) => row.idempotencyKey));
  const fresh = keyed.filter((event) => !seen.has(event.key));
  const changes = options.jobChanges ?? [];
  if (fresh.length === 0 && changes.length === 0) return { appended: [], lastSeq };

  const seq = lastSeq + fresh.length;
  const sets = Prisma.join(
    [Prisma.sql`last_seq = ${seq}`, Prisma.sql`updated_at = now()`, ...changes],
    ", ",
  );
  if (fresh.length > 0) {
    const payload = JSON.stringify({ id: jobId, seq });
    await tx.$executeRaw`
      WITH notified AS (SELECT pg_notify(${JOB_EVENTS_CHANNEL}, ${payload}))
      UPDATE jobs SET ${sets} FROM notified WHERE id = ${jobId}`;
  } else {
    await tx.$executeRaw`UPDATE jobs SET ${sets} WHERE id = ${jobId}`;
  }
  if (fresh.length === 0) return { appended: [], lastSeq };

  const appended = await tx.jobEvent.createManyAndReturn({
    data: fresh.map((event, i) => ({
      jobId,
      seq: lastSeq + 1 + i,
      type: event.type,
      step,
      data: event.data as Prisma.InputJsonObject,
      idempotencyKey: event.key,
    })),
    select: jobEventSelect,
  });
  return { appended: appended.sort((a, b) => a.seq - b.seq), lastSeq: seq };
}

interface SourceInput {
  /** `url:<url>` or `document:<id>`; one row per ref per job. */
  ref: string;
  url?: string | null;
  documentId?: string | null;
  title: string;
  snippet?: string;
  rank: number;
  read?: boolean;
}

interface CitationInput {
  marker: number;
  sourceRef: string;
  quote?: string | null;
}

export interface StepOutputs {
  status?: JobStatus;
  /** 0..1; recorded as a `progress` event too unless the step sends its own. */
  progress?: number;
  result?: Prisma.InputJsonValue;
  /** Required with status `failed`. */
  error?: JobError;
  sources?: readonly SourceInput[];
  citations?: readonly CitationInput[];
  events?: readonly NewJobEvent[];
  /** The tokens of the step's model calls (lib/jobs/usage.ts), for the job's cost. */
  usage?: readonly StepUsage[];
}

export class JobFinishedError extends Error {
  override name = "JobFinishedError";
  constructor(
    readonly jobId: string,
    readonly status: JobStatus,
  ) {
    super(`Job ${jobId} is already ${status}; its outputs can no longer change`);
  }
}

function statusEvent(from: JobStatus, to: JobStatus, error?: JobError): NewJobEvent | null {
  if (from === to) return null;
  switch (to) {
    case "running":
      return { type: from === "queued" ? "job.started" : "job.resumed", data: {} };
    case "completed":
      return { type: "job.completed", data: {} };
    case "failed":
      return { type: "job.failed", data: { ...error } };
    case "cancelled":
      return { type: "job.cancelled", data: {} };
    default:
      return null;
  }
}

/**
 * Writes a step's outputs and its events in one transaction. A status change
 * adds its own event (`job.started`, `job.completed`, `job.failed`, …) after
 * the step's events. Once a job has finished only events may be added (e.g.
 * "email sent"), and a retry of the finishing step is a no-op.
 */
export async function commitStep(
  jobId: string,
  step: string,
  outputs: StepOutputs,
  options: {
    /** Another client than the app's (the job-events benchmark's baseline uses one). */
    client?: typeof db;
  } = {},
): Promise<AppendResult & { status: JobStatus }> {
  const client = options.client ?? db;
  stepNameSchema.parse(step);
  const events = (outputs.events ?? []).map((event) => newJobEventSchema.parse(event));
  const error = outputs.error ? jobErrorSchema.parse(outputs.error) : undefined;
  if (outputs.status === "failed" && !error)
    throw new TypeError("A failed job needs an error code and message");
  const progress =
    outputs.progress === undefined
      ? undefined
      : Math.min(1, Math.max(0, Number.isFinite(outputs.progress) ? outputs.progress : 0));

  return client.$transaction(async (tx) => {
    const job = await lockJob(tx, jobId);
    const to = outputs.status ?? job.status;
    assertTransition(jobId, job.status, to);
    const changesOutputs =
      progress !== undefined ||
      outputs.result !== undefined ||
      (outputs.sources?.length ?? 0) > 0 ||
      (outputs.citations?.length ?? 0) > 0 ||
      error !== undefined;
    if (isTerminal(job.status)) {
      // Same terminal status: a retry of the step that finished the job.
      if (outputs.status === job.status)
        return { appended: [], lastSeq: job.lastSeq, status: job.status };
      if (changesOutputs) throw new JobFinishedError(jobId, job.status);
    }

    const changes: Prisma.Sql[] = [];
    if (to !== job.status) changes.push(Prisma.sql`status = ${to}::job_status`);
    const newProgress = to === "completed" ? 1 : progress;
    if (newProgress !== undefined) changes.push(Prisma.sql`progress = ${newProgress}`);
    if (outputs.result !== undefined)
      changes.push(Prisma.sql`result = ${JSON.stringify(outputs.result)}::jsonb`);
    if (error)
      changes.push(
        Prisma.sql`error_code = ${error.code}`,
        Prisma.sql`error_message = ${error.message}`,
      );
    if (to === "running" && !job.startedAt) changes.push(Prisma.sql`started_at = now()`);
    if (isTerminal(to) && to !== job.status) changes.push(Prisma.sql`finished_at = now()`);

    if (outputs.sources?.length) {
      await tx.jobSource.createMany({
        data: outputs.sources.map((source) => ({
          jobId,
          ref: source.ref,
          url: source.url ?? null,
          documentId: source.documentId ?? null,
          title: source.title,
          snippet: source.snippet ?? "",
          rank: source.rank,
          read: source.read ?? false,
        })),
        skipDuplicates: true,
      });
      const read = outputs.sources.filter((source) => source.read).map((source) => source.ref);
      if (read.length)
        await tx.jobSource.updateMany({
          where: { jobId, ref: { in: read } },
          data: { read: true },
        });
    }
    if (outputs.usage?.length) await insertStepUsage(tx, jobId, step, outputs.usage);
    if (outputs.citations?.length) {
      const refs = [...new Set(outputs.citations.map((citation) => citation.sourceRef))];
      const sources = await tx.jobSource.findMany({
        where: { jobId, ref: { in: refs } },
        select: { id: true, ref: true },
      });
      const idByRef = new Map(sources.map((source) => [source.ref, source.id]));
      await tx.jobCitation.createMany({
        data: outputs.citations.map((citation) => {
          const sourceId = idByRef.get(citation.sourceRef);
          if (!sourceId)
            throw new TypeError(
              `Citation [${citation.marker}] names an unknown source ${citation.sourceRef}`,
            );
          return { jobId, marker: citation.marker, sourceId, quote: citation.quote ?? null };
        }),
        skipDuplicates: true,
      });
    }

    const all = [...events];
    if (progress !== undefined && !all.some((event) => event.type === "progress")) {
      all.push({ type: "progress", data: { progress } });
    }
    const transition = statusEvent(job.status, to, error);
    if (transition) all.push(newJobEventSchema.parse(transition));
    const result = await appendLocked(tx, jobId, job.lastSeq, step, all, { jobChanges: changes });
    return { ...result, status: to };
  });
}

/**
 * Records a cancel request. A job still queued is cancelled at once (the
 * worker's first write will then be refused); a running one is cancelled by
 * its function, which ends the log with `job.cancelled`. Repeats are no-ops.
 */
export async function requestCancel(jobId: string): Promise<{ status: JobStatus }> {
  return db.$transaction(async (tx) => {
    const job = await lockJob(tx, jobId);
    if (isTerminal(job.status)) return { status: job.status };
    const events: NewJobEvent[] = [{ type: "cancel.requested", data: {} }];
    let status = job.status;
    const changes: Prisma.Sql[] = [];
    if (job.status === "queued") {
      status = "cancelled";
      changes.push(Prisma.sql`status = 'cancelled'::job_status`, Prisma.sql`finished_at = now()`);
      events.push({ type: "job.cancelled", data: {} });
    }
    const parsed = events.map((event) => newJobEventSchema.parse(event));
    await appendLocked(tx, jobId, job.lastSeq, "cancel-request", parsed, { jobChanges: changes });
    return { status };
  });
}

/**
 * The value a step that finished its job recorded with its `step.completed`
 * (inngest/functions/_lib/job-step.ts), or null when the step has not
 * completed or recorded none.
 */
export async function recordedStepValue(
  jobId: string,
  step: string,
): Promise<{ value: unknown } | null> {
  const completed = await db.jobEvent.findFirst({
    where: { jobId, step, type: "step.completed" },
    select: { data: true },
  });
  const data = completed?.data;
  if (!data || typeof data !== "object" || Array.isArray(data) || !("value" in data)) return null;
  return { value: data.value };
}

/** The log refused a write because the job is over (finished, cancelled) or gone: no retry can help. */
export function isRefusedWrite(
  error: unknown,
): error is InvalidTransitionError | JobFinishedError | JobNotFoundError {
  return (
    error instanceof InvalidTransitionError ||
    error instanceof JobFinishedError ||
    error instanceof JobNotFoundError
  );
}

export { InvalidTransitionError };
