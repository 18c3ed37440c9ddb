/**
 * A run's step records (`run_steps`) and the jobs its steps queue: a step's
 * result is memoized once and never overwritten, so a retried or duplicated
 * call cannot change what the function already saw.
 */
import { notify, type EngineContext } from "./context";
import type { Tx } from "./store";
import type { JobKind, RunRow, StepState } from "./types";

export interface MemoizeOptions {
  runId: string;
  stepId: string;
  state: StepState;
  name?: string;
  op?: string;
  started?: Date;
  ended?: Date;
  status?: string;
  attempt?: number;
}

/** Records a step's result once: a memoized result is never overwritten. */
export async function memoize(ctx: EngineContext, tx: Tx, step: MemoizeOptions): Promise<void> {
  const { s } = ctx;
  await tx.query(
    `INSERT INTO ${s}.run_steps (run_id, step_id, name, op, status, state, error, attempts, seq, started_at, ended_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, nextval('${s}.step_seq'), $9, $10)
     ON CONFLICT (run_id, step_id) DO UPDATE SET state = EXCLUDED.state, status = EXCLUDED.status, error = EXCLUDED.error,
       seq = EXCLUDED.seq, ended_at = EXCLUDED.ended_at, attempts = GREATEST(${s}.run_steps.attempts, EXCLUDED.attempts),
       started_at = COALESCE(${s}.run_steps.started_at, EXCLUDED.started_at)
     WHERE ${s}.run_steps.state IS NULL`,
    [
      step.runId,
      step.stepId,
      step.name ?? null,
      step.op ?? "StepRun",
      step.status ?? (step.state.type === "error" ? "failed" : "completed"),
      JSON.stringify(step.state),
      step.state.type === "error" ? JSON.stringify(step.state.error) : null,
      (step.attempt ?? 0) + 1,
      step.started ?? step.ended ?? null,
      step.ended ?? null,
    ],
  );
}

/** A step that ends with no data (a sleep, a wait that timed out, an invoke with no target). */
export function memoizeEnded(
  ctx: EngineContext,
  tx: Tx,
  runId: string,
  stepId: string,
): Promise<void> {
  return memoize(ctx, tx, {
    runId,
    stepId,
    state: { type: "data", data: null },
    ended: new Date(),
  });
}

/** Records a step that is under way (queued, waiting); false if the step was recorded already. */
export async function markWaiting(
  ctx: EngineContext,
  tx: Tx,
  step: {
    runId: string;
    stepId: string;
    name: string;
    op: string;
    status: string;
    parallelMode?: string | null;
  },
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO ${ctx.s}.run_steps (run_id, step_id, name, op, status, started_at, parallel_mode) VALUES ($1, $2, $3, $4, $5, now(), $6)
     ON CONFLICT (run_id, step_id) DO NOTHING`,
    [step.runId, step.stepId, step.name, step.op, step.status, step.parallelMode ?? null],
  );
  return (rowCount ?? 0) > 0;
}

/** Queues a job for a run's step (once per run, kind and step); false if it was queued already. */
export async function insertJob(
  ctx: EngineContext,
  tx: Tx,
  job: { run: RunRow; kind: JobKind; stepId: string | null; runAt: Date; attempt: number },
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO ${ctx.s}.jobs (run_id, kind, step_id, run_at, attempt, concurrency_keys) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
    [
      job.run.id,
      job.kind,
      job.stepId,
      job.runAt,
      job.attempt,
      job.kind === "call" ? job.run.concurrency_keys : [],
    ],
  );
  if (!rowCount) return false;
  await notify(ctx, tx);
  return true;
}

/** Queues a step's timer (a wait or invoke timeout) to fire `afterMs` from now. */
export function insertTimeout(
  ctx: EngineContext,
  tx: Tx,
  timer: { run: RunRow; kind: "wait-timeout" | "invoke-timeout"; stepId: string; afterMs: number },
): Promise<boolean> {
  return insertJob(ctx, tx, {
    run: timer.run,
    kind: timer.kind,
    stepId: timer.stepId,
    runAt: new Date(Date.now() + timer.afterMs),
    attempt: 0,
  });
}
