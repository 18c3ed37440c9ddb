/**
 * Applying the ops an SDK reports (from a call's 206 response or from a
 * checkpoint), one handler per opcode. Handlers run under the run's row lock
 * and only see ops whose step has no memoized result yet.
 */
import { parseDurationMs, parseRetryAfter, resolveWakeTime } from "../durations";
import {
  functionConfigSchema,
  invokeOptsSchema,
  newUlid,
  toSerializedError,
  waitOptsSchema,
  type FunctionConfig,
  type Op,
  type StoredEvent,
} from "../protocol";
import { backoff } from "./call";
import { notify, type EngineContext } from "./context";
import { finishRun } from "./lifecycle";
import { startInvokedRun } from "./flow-control";
import { insertJob, insertTimeout, markWaiting, memoize, memoizeEnded } from "./step-records";
import type { Tx } from "./store";
import { INVOKED_EVENT, type JobOutcome, type JobRow, type RunRow, type StepState } from "./types";

/** Ops that only report a step's result and queue no work. */
const RESULT_OPS = new Set(["Step", "StepRun", "StepFailed", "RunComplete"]);

/** What one handler sees of the ops being applied, and what it may decide. */
interface OpScope {
  ctx: EngineContext;
  tx: Tx;
  run: RunRow;
  job: JobRow;
  /** When the step started (the call was sent, or the previous step was recorded). */
  mark: Date;
  now: Date;
  retryAfter: string | null | undefined;
  outcome: JobOutcome;
  /** New work was queued (or a result recorded), so the run moves on without another call. */
  progressed: boolean;
}

/** A handler returns "ended" when the op ended the run. */
type OpHandler = (scope: OpScope, op: Op, name: string) => Promise<"ended" | void>;

const stepResult: OpHandler = async ({ ctx, tx, run, job, mark, now }, op, name) => {
  await memoize(ctx, tx, {
    runId: run.id,
    stepId: op.id,
    state: { type: "data", data: op.data ?? null },
    name,
    op: op.op,
    started: mark,
    ended: now,
    attempt: job.attempt,
  });
};

const handlers: Record<string, OpHandler> = {
  Step: stepResult,
  StepRun: stepResult,
  StepFailed: async ({ ctx, tx, run, job, mark, now }, op, name) => {
    await memoize(ctx, tx, {
      runId: run.id,
      stepId: op.id,
      state: { type: "error", error: toSerializedError(op.error, "Step failed") },
      name,
      op: op.op,
      started: mark,
      ended: now,
      status: "failed",
      attempt: job.attempt,
    });
  },
  StepError: async (scope, op, name) => {
    const { ctx, tx, run, job, mark } = scope;
    const error = toSerializedError(op.error, "Step errored");
    const wait = parseRetryAfter(scope.retryAfter) ?? backoff(ctx, job.attempt);
    await tx.query(
      `INSERT INTO ${ctx.s}.run_steps (run_id, step_id, name, op, status, error, attempts, started_at)
       VALUES ($1, $2, $3, 'StepRun', 'retrying', $4, $5, $6)
       ON CONFLICT (run_id, step_id) DO UPDATE SET status = 'retrying', error = EXCLUDED.error, attempts = EXCLUDED.attempts
       WHERE ${ctx.s}.run_steps.state IS NULL`,
      [run.id, op.id, name, JSON.stringify(error), job.attempt + 1, mark],
    );
    ctx.options.log(
      `run ${run.id} step ${name} attempt ${job.attempt + 1} failed (${error.message}); retrying in ${Math.round(wait)}ms`,
    );
    const runAt = new Date(Date.now() + wait);
    if (job.step_id === op.id) {
      scope.outcome = { reschedule: { runAt, attempt: job.attempt + 1, networkFailures: 0 } };
    } else if (job.step_id === null) {
      // The discovery call ran the step itself; the retry is a call targeted at that step.
      scope.outcome = {
        reschedule: { runAt, attempt: job.attempt + 1, networkFailures: 0, stepId: op.id },
      };
    } else {
      await insertJob(ctx, tx, {
        run,
        kind: "call",
        stepId: op.id,
        runAt,
        attempt: job.attempt + 1,
      });
    }
  },
  StepPlanned: async (scope, op, name) => {
    const { ctx, tx, run, job, now } = scope;
    if (op.id === job.step_id) return;
    if (await insertJob(ctx, tx, { run, kind: "call", stepId: op.id, runAt: now, attempt: 0 }))
      scope.progressed = true;
    await markWaiting(ctx, tx, {
      runId: run.id,
      stepId: op.id,
      name,
      op: "StepRun",
      status: "queued",
      parallelMode: typeof op.opts?.parallelMode === "string" ? op.opts.parallelMode : null,
    });
  },
  Sleep: async ({ ctx, tx, run }, op, name) => {
    const wakeAt = resolveWakeTime(op.name ?? "0s");
    await markWaiting(ctx, tx, {
      runId: run.id,
      stepId: op.id,
      name,
      op: "Sleep",
      status: "waiting",
    });
    await insertJob(ctx, tx, { run, kind: "sleep", stepId: op.id, runAt: wakeAt, attempt: 0 });
  },
  WaitForEvent: async ({ ctx, tx, run }, op) => {
    const opts = waitOptsSchema.parse(op.opts ?? {});
    const timeout = parseDurationMs(opts.timeout) ?? 0;
    await markWaiting(ctx, tx, {
      runId: run.id,
      stepId: op.id,
      name: op.displayName ?? op.id,
      op: "WaitForEvent",
      status: "waiting",
    });
    await tx.query(
      `INSERT INTO ${ctx.s}.waits (run_id, step_id, event_name, expression) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [run.id, op.id, op.name ?? "", opts.if ?? null],
    );
    await insertTimeout(ctx, tx, { run, kind: "wait-timeout", stepId: op.id, afterMs: timeout });
  },
  InvokeFunction: async ({ ctx, tx, run }, op, name) => {
    await invoke(ctx, tx, { run, op, name });
  },
  RunComplete: async ({ ctx, tx, run }, op) => {
    await finishRun(ctx, tx, run, { status: "completed", output: op.data ?? null });
    return "ended";
  },
  DiscoveryRequest: async () => undefined,
};

/** An op this executor does not implement fails its step, so the function sees an error, not a hang. */
const unsupported: OpHandler = async ({ ctx, tx, run, mark, now }, op, name) => {
  await memoize(ctx, tx, {
    runId: run.id,
    stepId: op.id,
    state: {
      type: "error",
      error: { name: "Error", message: `The embedded executor does not support ${op.op}` },
    },
    name,
    op: op.op,
    started: mark,
    ended: now,
    status: "failed",
  });
};

/** Applies the ops an SDK reported (from a call's 206 response or from a checkpoint). */
export async function applyOps(
  ctx: EngineContext,
  tx: Tx,
  input: { run: RunRow; job: JobRow; ops: Op[]; mark: Date; retryAfter?: string | null },
): Promise<JobOutcome> {
  const { run, job, ops } = input;
  // Results are memoized idempotently; only ops that start work must skip steps already done.
  const onlyResults = ops.every((op) => RESULT_OPS.has(op.op));
  const { rows: known } = onlyResults
    ? { rows: [] }
    : await tx.query<{ step_id: string; state: StepState | null }>(
        `SELECT step_id, state FROM ${ctx.s}.run_steps WHERE run_id = $1 AND step_id = ANY($2::text[])`,
        [run.id, ops.map((op) => op.id)],
      );
  const memoized = new Set(known.filter((row) => row.state !== null).map((row) => row.step_id));
  const fresh = ops.filter((op) => !memoized.has(op.id));
  if (fresh.filter((op) => op.op === "StepPlanned").length > 1 && !run.disable_immediate) {
    await tx.query(`UPDATE ${ctx.s}.runs SET disable_immediate = true WHERE id = $1`, [run.id]);
    run.disable_immediate = true;
  }
  const scope: OpScope = {
    ctx,
    tx,
    run,
    job,
    mark: input.mark,
    now: new Date(),
    retryAfter: input.retryAfter,
    outcome: {
      continueInline:
        job.kind === "call" && job.step_id === null && fresh.every((op) => RESULT_OPS.has(op.op)),
    },
    progressed: fresh.some((op) => op.op !== "StepPlanned" && op.op !== "DiscoveryRequest"),
  };
  for (const op of fresh) {
    const handler = handlers[op.op] ?? unsupported;
    if ((await handler(scope, op, op.displayName ?? op.name ?? op.id)) === "ended") return {};
  }
  return scope.outcome.reschedule ? scope.outcome : { ...scope.outcome, idle: !scope.progressed };
}

async function invoke(
  ctx: EngineContext,
  tx: Tx,
  { run, op, name }: { run: RunRow; op: Op; name: string },
): Promise<void> {
  const opts = invokeOptsSchema.parse(op.opts ?? {});
  // An invoke already under way (its step is recorded) must not start a second child.
  if (
    !(await markWaiting(ctx, tx, {
      runId: run.id,
      stepId: op.id,
      name,
      op: "InvokeFunction",
      status: "waiting",
    }))
  )
    return;
  const { rows } = await tx.query<{ config: FunctionConfig; url: string }>(
    `SELECT config, url FROM ${ctx.s}.functions WHERE id = $1`,
    [opts.function_id],
  );
  const config = rows[0] ? functionConfigSchema.safeParse(rows[0].config) : undefined;
  if (!config?.success) {
    await memoize(ctx, tx, {
      runId: run.id,
      stepId: op.id,
      state: {
        type: "error",
        // The official server's words, which SDK test suites match.
        error: { name: "Error", message: `could not find function with ID: ${opts.function_id}` },
      },
      ended: new Date(),
      status: "failed",
    });
    return;
  }
  const event: StoredEvent = {
    id: newUlid(),
    name: INVOKED_EVENT,
    data: {
      ...(opts.payload?.data ?? {}),
      _inngest: { source_run_id: run.id, source_fn_id: run.function_id },
    },
    ts: Date.now(),
  };
  await tx.query(`INSERT INTO ${ctx.s}.events (id, name, payload) VALUES ($1, $2, $3)`, [
    event.id,
    event.name,
    JSON.stringify(event),
  ]);
  const {
    created: [childId],
    queued,
    skipped,
  } = await startInvokedRun(ctx, tx, {
    config: config.data,
    url: rows[0]?.url ?? "",
    events: [event],
    parent: { runId: run.id, stepId: op.id },
  });
  if (skipped) {
    await memoize(ctx, tx, {
      runId: run.id,
      stepId: op.id,
      state: {
        type: "error",
        error: {
          name: "Error",
          message: `function ${opts.function_id} was not invoked: ${skipped.rule} (${skipped.detail})`,
        },
      },
      ended: new Date(),
      status: "failed",
    });
    return;
  }
  if (!childId) {
    await memoizeEnded(ctx, tx, run.id, op.id);
    return;
  }
  const timeout = opts.timeout ? parseDurationMs(opts.timeout) : undefined;
  if (timeout !== undefined)
    await insertTimeout(ctx, tx, { run, kind: "invoke-timeout", stepId: op.id, afterMs: timeout });
  if (queued) await notify(ctx, tx);
}
