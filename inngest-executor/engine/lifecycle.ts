/**
 * A run's lifecycle: applying a job's result under the run's row lock,
 * keeping a running run moving (its next call), and ending it (output or
 * error, lifecycle events, resuming an invoking parent).
 */
import { newUlid, type SerializedError, type StoredEvent } from "../protocol";
import { notify, type EngineContext } from "./context";
import { ingestInTx } from "./ingest";
import { leaseSeconds, newLeaseToken, RELEASED } from "./leases";
import { memoize } from "./step-records";
import type { Tx } from "./store";
import {
  CANCELLED_EVENT,
  FAILED_EVENT,
  FINISHED_EVENT,
  type JobOutcome,
  type JobRow,
  type NextJob,
  type RunRow,
  type RunStatus,
  type StepState,
} from "./types";

/** How a run ended: its status, and its output or error. */
export interface RunOutcome {
  status: Exclude<RunStatus, "running">;
  output?: unknown;
  error?: SerializedError;
}

/**
 * Applies a job's result under the run's row lock, if the job is still
 * leased by this worker; then retires or requeues the job and, if the run has
 * nothing pending, queues its next call (handed straight back to this worker).
 */
export async function applyForJob(
  ctx: EngineContext,
  job: JobRow,
  apply: (tx: Tx, run: RunRow) => Promise<JobOutcome>,
): Promise<NextJob | undefined> {
  const { s } = ctx;
  const next = await ctx.store.transaction(async (tx) => {
    const { rows } = await ctx.store.query<RunRow & { job_held: boolean }>(
      tx,
      `SELECT r.*, EXISTS (SELECT 1 FROM ${s}.jobs j WHERE j.id = $2 AND j.lease_token = $3) AS job_held
       FROM ${s}.runs r WHERE r.id = $1 FOR UPDATE OF r`,
      [job.run_id, job.id, job.lease_token],
    );
    const run = rows[0];
    if (!run?.job_held) return undefined;
    if (run.status !== "running") {
      await tx.query(`DELETE FROM ${s}.jobs WHERE id = $1`, [job.id]);
      return undefined;
    }
    const outcome = await apply(tx, run);
    if (run.status !== "running") return undefined;
    if (outcome.reschedule) {
      const { runAt, attempt, networkFailures, stepId } = outcome.reschedule;
      await tx.query(
        `UPDATE ${s}.jobs SET run_at = $2, attempt = $3, network_failures = $4, step_id = COALESCE($5, step_id),
           ${RELEASED} WHERE id = $1`,
        [job.id, runAt, attempt, networkFailures, stepId ?? null],
      );
      await notify(ctx, tx);
      return undefined;
    }
    if (outcome.continueInline) {
      await tx.query(`UPDATE ${s}.jobs SET attempt = 0, network_failures = 0 WHERE id = $1`, [
        job.id,
      ]);
      return { ...job, attempt: 0, network_failures: 0 };
    }
    await tx.query(`DELETE FROM ${s}.jobs WHERE id = $1`, [job.id]);
    if (job.concurrency_keys.length > 0) await notify(ctx, tx);
    // The first branch of a race to finish resumes the run at once; the others finish on their own.
    const race =
      job.kind === "call" &&
      job.step_id !== null &&
      (
        await tx.query<{ parallel_mode: string | null }>(
          `SELECT parallel_mode FROM ${s}.run_steps WHERE run_id = $1 AND step_id = $2`,
          [run.id, job.step_id],
        )
      ).rows[0]?.parallel_mode === "race";
    // After a call that changed nothing, a race's losing branches count as pending again: calling
    // the function once more would only report them again (the SDK finishes a run only when every
    // branch has), so the run waits for them instead of spinning.
    return ensureProgress(ctx, tx, {
      runId: run.id,
      excludeJobId: job.id,
      leaseTo: newLeaseToken(),
      knownKeys: run.concurrency_keys,
      force: race,
      excludeRaceLosers: !outcome.idle,
    });
  });
  return next ? { job: next } : undefined;
}

export interface ProgressOptions {
  runId: string;
  /** A job about to be retired, which no longer counts as pending. */
  excludeJobId?: string;
  /** Lease the new call to this worker with this token (instead of queueing it). */
  leaseTo?: string;
  knownKeys?: string[];
  /** Queue the next call whatever is pending (a race was won). */
  force?: boolean;
  /** A race's losing branches do not count as pending (default true). */
  excludeRaceLosers?: boolean;
}

/**
 * A running run always has something pending: a job, a wait or an invoked
 * child. When nothing is left, the function is called again to find its
 * next step. Returns the new job when it is leased to this worker.
 */
export async function ensureProgress(
  ctx: EngineContext,
  tx: Tx,
  options: ProgressOptions,
): Promise<JobRow | undefined> {
  const { s } = ctx;
  const { runId, leaseTo } = options;
  const { rows } = options.force
    ? { rows: [{ n: "0" }] }
    : await tx.query<{ n: string }>(
        // A race's losing branches do not hold the run back. Branches planned together share started_at
        // (the planning transaction's now()), which identifies the race.
        `SELECT (SELECT count(*) FROM ${s}.jobs j WHERE j.run_id = $1 AND j.kind <> 'run-timeout' AND j.id::text <> COALESCE($2, '')
               AND NOT ($3 AND EXISTS (
                 SELECT 1 FROM ${s}.run_steps me JOIN ${s}.run_steps winner
                   ON winner.run_id = me.run_id AND winner.started_at = me.started_at AND winner.parallel_mode = 'race' AND winner.state IS NOT NULL
                 WHERE j.kind = 'call' AND me.run_id = j.run_id AND me.step_id = j.step_id AND me.parallel_mode = 'race'))) +
            (SELECT count(*) FROM ${s}.run_steps WHERE run_id = $1 AND status = 'waiting') AS n`,
        [runId, options.excludeJobId ?? null, options.excludeRaceLosers ?? true],
      );
  if (Number(rows[0]?.n ?? 0) > 0) return undefined;
  const keys =
    options.knownKeys ??
    (
      await tx.query<{ concurrency_keys: string[] }>(
        `SELECT concurrency_keys FROM ${s}.runs WHERE id = $1`,
        [runId],
      )
    ).rows[0]?.concurrency_keys ??
    [];
  if (leaseTo) {
    const { rows: inserted } = await tx.query<Omit<JobRow, "lease_token">>(
      `INSERT INTO ${s}.jobs (run_id, kind, concurrency_keys, leased_by, lease_token, lease_until)
       VALUES ($1, 'call', $2, $3, $4, now() + make_interval(secs => $5)) ON CONFLICT DO NOTHING
       RETURNING id, run_id, kind, step_id, attempt, network_failures, concurrency_keys`,
      [runId, keys, ctx.workerId, leaseTo, leaseSeconds(ctx)],
    );
    return inserted[0] ? { ...inserted[0], lease_token: leaseTo } : undefined;
  }
  await tx.query(
    `INSERT INTO ${s}.jobs (run_id, kind, concurrency_keys) VALUES ($1, 'call', $2) ON CONFLICT DO NOTHING`,
    [runId, keys],
  );
  await notify(ctx, tx);
  return undefined;
}

export async function cancelRunInTx(
  ctx: EngineContext,
  tx: Tx,
  runId: string,
  reason: string,
): Promise<boolean> {
  const run = await ctx.store.lockRun(tx, runId);
  if (!run || run.status !== "running") return false;
  await finishRun(ctx, tx, run, {
    status: "cancelled",
    error: { name: "Cancelled", message: reason },
  });
  return true;
}

export async function finishRun(
  ctx: EngineContext,
  tx: Tx,
  run: RunRow,
  outcome: RunOutcome,
): Promise<void> {
  const { s } = ctx;
  const { status } = outcome;
  run.status = status;
  // One statement ends the run and clears everything pending for it.
  await ctx.store.query(
    tx,
    `WITH ended AS (
       UPDATE ${s}.runs SET status = $2, output = $3, error = $4, ended_at = now() WHERE id = $1
     ), jobs AS (
       DELETE FROM ${s}.jobs WHERE run_id = $1
     ), waits AS (
       DELETE FROM ${s}.waits WHERE run_id = $1
     ), cancellations AS (
       DELETE FROM ${s}.cancellations WHERE run_id = $1
     )
     UPDATE ${s}.run_steps SET status = 'cancelled' WHERE run_id = $1 AND status IN ('waiting', 'queued', 'retrying')`,
    [
      run.id,
      status,
      outcome.output === undefined ? null : JSON.stringify(outcome.output),
      outcome.error ? JSON.stringify(outcome.error) : null,
    ],
  );
  const took = run.created_at ? `${Date.now() - new Date(run.created_at).getTime()}ms` : "";
  ctx.options.log(
    `run ${run.id} ${status}: ${run.function_id}${outcome.error ? ` (${outcome.error.message})` : ""} after ${took}`,
  );
  // Its concurrency slots are free now: wake the workers that may be holding back a job for them.
  if (run.concurrency_keys.length > 0) await notify(ctx, tx);
  if (run.parent_run_id && run.parent_step_id) await resumeParent(ctx, tx, run, outcome);
  const lifecycle = lifecycleEvents(run, outcome);
  if (lifecycle.length > 0) await ingestInTx(ctx, tx, lifecycle);
}

/** Lifecycle events, as Inngest emits them; functions (onFailure among them) can be triggered by them. */
function lifecycleEvents(run: RunRow, outcome: RunOutcome): StoredEvent[] {
  const { status } = outcome;
  const original = run.events[0];
  const base = {
    function_id: run.function_id,
    run_id: run.id,
    event: original,
    events: run.events,
  };
  const lifecycle: StoredEvent[] = [];
  const emit = (name: string, data: Record<string, unknown>) =>
    lifecycle.push({ id: newUlid(), name, data, ts: Date.now() });
  if (status === "failed" && original?.name !== FAILED_EVENT)
    emit(FAILED_EVENT, { ...base, error: outcome.error });
  if (status === "cancelled" && original?.name !== CANCELLED_EVENT)
    emit(CANCELLED_EVENT, { ...base, error: outcome.error });
  if (original?.name !== FINISHED_EVENT) {
    emit(
      FINISHED_EVENT,
      status === "completed"
        ? { ...base, result: outcome.output ?? null }
        : { ...base, error: outcome.error ?? null },
    );
  }
  return lifecycle;
}

async function resumeParent(
  ctx: EngineContext,
  tx: Tx,
  child: RunRow,
  { status, output, error }: RunOutcome,
): Promise<void> {
  if (!child.parent_run_id || !child.parent_step_id) return;
  const parent = await ctx.store.lockRun(tx, child.parent_run_id);
  if (!parent || parent.status !== "running") return;
  const state: StepState =
    status === "completed"
      ? { type: "data", data: output ?? null }
      : {
          type: "error",
          error: error ?? { name: "Error", message: `Invoked function ${status}` },
        };
  await tx.query(
    `DELETE FROM ${ctx.s}.jobs WHERE run_id = $1 AND kind = 'invoke-timeout' AND step_id = $2`,
    [parent.id, child.parent_step_id],
  );
  await memoize(ctx, tx, {
    runId: parent.id,
    stepId: child.parent_step_id,
    state,
    ended: new Date(),
  });
  await ensureProgress(ctx, tx, { runId: parent.id });
}
