/**
 * Row shapes and small value types shared by the engine's modules, and the
 * constants of the Inngest protocol they agree on.
 */
import type { FunctionConfig, SerializedError, StoredEvent } from "../protocol";

export const FAILED_EVENT = "inngest/function.failed";
export const INVOKED_EVENT = "inngest/function.invoked";
export const FINISHED_EVENT = "inngest/function.finished";
export const CANCELLED_EVENT = "inngest/function.cancelled";
export const DEFAULT_RETRIES = 3;

export interface EngineOptions {
  databaseUrl: string;
  schema: string;
  /** Base delay of the exponential retry backoff. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How many jobs one process runs at once. */
  workerConcurrency: number;
  callTimeoutMs: number;
  log: (line: string) => void;
}

export type JobKind = "call" | "sleep" | "wait-timeout" | "invoke-timeout" | "run-timeout";

export interface JobRow {
  id: string;
  run_id: string;
  kind: JobKind;
  step_id: string | null;
  attempt: number;
  network_failures: number;
  concurrency_keys: string[];
  lease_token: string;
}

export type RunStatus = "running" | "completed" | "failed" | "cancelled";

export interface RunRow {
  id: string;
  function_id: string;
  event_id: string | null;
  events: StoredEvent[];
  status: RunStatus;
  max_attempts: number;
  disable_immediate: boolean;
  parent_run_id: string | null;
  parent_step_id: string | null;
  concurrency_keys: string[];
  created_at: Date;
  started_at: Date | null;
}

export type StepState = { type: "data"; data: unknown } | { type: "error"; error: SerializedError };

/** What applying a result to a run decided about the job that produced it. */
export interface JobOutcome {
  /** Keep the job row and put it back on the queue (a retry), instead of deleting it. */
  reschedule?: { runAt: Date; attempt: number; networkFailures: number; stepId?: string | null };
  /** The result queued no new work (only step results): the run's next call reuses this job and its lease. */
  continueInline?: boolean;
  /** The result changed nothing (every op was already known): only other pending work can move the run on. */
  idle?: boolean;
}

export interface InflightJob {
  job: JobRow;
  /** When the call was sent: the run's start, if it has none yet. */
  sent?: Date;
  /** When the last step result of this call was recorded: the next step's start. */
  mark: Date;
  abort: AbortController;
}

/** What a call to the app needs to know about its run: read from Postgres, or known already. */
export interface CallContext {
  run: RunRow;
  url: string | null;
  steps: { step_id: string; state: StepState }[];
}

/** A job this worker holds and runs next, with its call context when that is known already. */
export interface NextJob {
  job: JobRow;
  context?: CallContext;
}

/** A synced function as the engine plans runs of it. */
export interface SyncedFunction {
  config: FunctionConfig;
  url: string;
}

/** A flow-control rule that shaped a run (delayed, batched, prioritised it), shown on the runs page. */
export interface FlowNote {
  rule: string;
  detail: string;
}

export interface PlannedRun {
  config: FunctionConfig;
  /** The function's serve URL (where its calls go). */
  url: string;
  events: StoredEvent[];
  parent?: { runId: string; stepId: string };
  /** When the first call is due, if later than now (a throttle, a batch or a debounce delays it). */
  runAt?: Date;
  /** `priority.run` in seconds: a positive factor moves the first call ahead of older jobs, a negative one delays it. */
  priority?: number;
  /** At most one running run per function and key: `singleton`. */
  singletonKey?: string | null;
  flow?: FlowNote[];
}

export interface RunSummaryRow {
  id: string;
  function_id: string;
  app_id: string | null;
  event_id: string | null;
  status: RunStatus;
  output: unknown;
  error: SerializedError | null;
  created_at: Date;
  started_at: Date | null;
  ended_at: Date | null;
}

export interface StepSummaryRow {
  step_id: string;
  name: string | null;
  op: string;
  status: string;
  attempts: number;
  started_at: string | null;
  ended_at: string | null;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
