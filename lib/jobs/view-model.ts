/**
 * What a job page shows, derived from the job row and its event log: the
 * current status and progress, the step timeline, partial results and the
 * pending question. Pure functions, shared by server and client components.
 */
import { z } from "zod";
import type { JobStatus } from "@/lib/jobs/schemas";

export interface ViewEvent {
  seq: number;
  type: string;
  step: string;
  data: unknown;
  createdAt: Date;
}

/** Merges event lists by seq (the page's initial log plus live ones), without duplicates. */
export function mergeEvents<E extends ViewEvent>(...lists: ReadonlyArray<readonly E[]>): E[] {
  const bySeq = new Map<number, E>();
  for (const list of lists) for (const event of list) bySeq.set(event.seq, event);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

const statusByEvent: Record<string, JobStatus> = {
  "job.queued": "queued",
  "job.started": "running",
  "job.resumed": "running",
  "input.requested": "waiting_for_input",
  "job.completed": "completed",
  "job.failed": "failed",
  "job.cancelled": "cancelled",
};

/** Events newer than the row tell the truth sooner; the row wins when it is further along. */
export function currentStatus(
  rowStatus: JobStatus,
  rowSeq: number,
  events: readonly ViewEvent[],
): JobStatus {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    if (event.seq <= rowSeq) break;
    const status = statusByEvent[event.type];
    if (status) return status;
  }
  return rowStatus;
}

const progressData = z.object({ progress: z.number().min(0).max(1) });

export function currentProgress(
  rowProgress: number,
  rowSeq: number,
  events: readonly ViewEvent[],
): number {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    if (event.seq <= rowSeq) break;
    if (event.type === "job.completed") return 1;
    const parsed = progressData.safeParse(event.data);
    if (event.type === "progress" && parsed.success)
      return Math.max(rowProgress, parsed.data.progress);
  }
  return rowProgress;
}

/** Steps the API records (not work the job does); kept out of the timeline. */
const bookkeepingSteps = /^(create|dispatch|cancel-request|respond-\d+)$/;

export interface TimelineStep {
  step: string;
  label: string;
  startedAt: Date;
  endedAt: Date | null;
  state: "running" | "done" | "failed";
}

const labelData = z.object({ label: z.string().min(1).max(200) });

export function buildTimeline(events: readonly ViewEvent[]): TimelineStep[] {
  const steps = new Map<string, TimelineStep>();
  // A step that only moved the job between states (e.g. `job.started`) or sent
  // the outcome email did no work worth a bar.
  const working = new Set<string>();
  for (const event of events) {
    if (bookkeepingSteps.test(event.step)) continue;
    let entry = steps.get(event.step);
    if (!entry) {
      entry = {
        step: event.step,
        label: event.step,
        startedAt: event.createdAt,
        endedAt: null,
        state: "running",
      };
      steps.set(event.step, entry);
    }
    // A provider batch's status reads (and the progress they report) are waits, not work: the batch panel shows them.
    if (!/^(job|email)\./.test(event.type) && !/^poll-batch-/.test(event.step))
      working.add(event.step);
    const label = labelData.safeParse(event.data);
    if (label.success) entry.label = label.data.label;
    if (event.type === "step.started") entry.startedAt = event.createdAt;
    if (
      event.type === "step.completed" ||
      event.type.startsWith("job.") ||
      event.type === "input.requested"
    ) {
      entry.endedAt = event.createdAt;
      entry.state = "done";
    } else if (event.type === "step.failed") {
      entry.endedAt = event.createdAt;
      entry.state = "failed";
    } else if (entry.state !== "running") {
      entry.endedAt = event.createdAt;
    }
  }
  return [...steps.values()].filter((entry) => working.has(entry.step));
}

/** Steps still marked running once the job has finished ended when it did. */
export function closeTimeline(
  steps: readonly TimelineStep[],
  finishedAt: Date | null,
): TimelineStep[] {
  if (!finishedAt) return [...steps];
  return steps.map((step) =>
    step.endedAt ? step : { ...step, endedAt: finishedAt, state: "done" as const },
  );
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return `${minutes} min ${seconds} s`;
}

const partialData = z.object({ key: z.string(), title: z.string().optional(), text: z.string() });

export interface PartialResult {
  key: string;
  title: string | null;
  text: string;
  seq: number;
}

/** The latest text per key, in the order the keys first appeared. */
export function partialResults(events: readonly ViewEvent[]): PartialResult[] {
  const byKey = new Map<string, PartialResult>();
  for (const event of events) {
    if (event.type !== "partial") continue;
    const parsed = partialData.safeParse(event.data);
    if (!parsed.success) continue;
    const { key, title, text } = parsed.data;
    byKey.set(key, { key, title: title ?? byKey.get(key)?.title ?? null, text, seq: event.seq });
  }
  return [...byKey.values()];
}

const inputRequestData = z.object({
  prompt: z.string().default("This job needs your input."),
  plan: z.array(z.string()).optional(),
});

export type InputRequest = z.infer<typeof inputRequestData> & { seq: number };

/** The latest question the job asked, unless it has been answered since. */
export function pendingInput(events: readonly ViewEvent[]): InputRequest | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    if (event.type === "input.provided") return null;
    if (event.type === "input.requested") {
      const parsed = inputRequestData.safeParse(event.data);
      return parsed.success
        ? { ...parsed.data, seq: event.seq }
        : { prompt: "This job needs your input.", seq: event.seq };
    }
  }
  return null;
}

/**
 * The report or summary in a job's result: `markdown` by convention (the
 * functions write it), with `report` and `summary` accepted too.
 */
export function resultText(result: unknown): string | null {
  if (typeof result === "string") return result;
  if (!result || typeof result !== "object") return null;
  const record = result as Record<string, unknown>;
  for (const key of ["markdown", "report", "summary", "text"]) {
    if (typeof record[key] === "string") return record[key];
  }
  return null;
}

/**
 * The latest outcome email's state, if one was attempted: "failed" while
 * retries remain, "gave-up" once the last attempt failed.
 */
export function emailState(events: readonly ViewEvent[]): "sent" | "failed" | "gave-up" | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const { type, data } = events[i]!;
    if (type === "email.sent") return "sent";
    if (type === "email.failed") {
      const final =
        typeof data === "object" && data !== null && (data as { final?: unknown }).final === true;
      return final ? "gave-up" : "failed";
    }
  }
  return null;
}

export const statusLabels: Record<JobStatus, string> = {
  queued: "Queued",
  running: "Running",
  waiting_for_input: "Needs your input",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
};
