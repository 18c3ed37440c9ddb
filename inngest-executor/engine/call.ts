/**
 * Calling the app: one call request with the run's event(s), memoized steps
 * and context; its response (done, ops, error) is applied to the run. Step
 * results arriving by async checkpoint are recorded here too.
 */
import { request } from "undici";
import { parseRetryAfter } from "../durations";
import {
  checkpointBodySchema,
  opsResponseSchema,
  toSerializedError,
  type Op,
  type SerializedError,
} from "../protocol";
import type { EngineContext } from "./context";
import { applyForJob, finishRun } from "./lifecycle";
import { applyOps } from "./opcodes";
import type { Tx } from "./store";
import type {
  CallContext,
  InflightJob,
  JobOutcome,
  JobRow,
  NextJob,
  RunRow,
  StepState,
} from "./types";

const MAX_NETWORK_FAILURES = 300;

interface CallResponse {
  status: number;
  headers: Headers;
  text: string;
}

/** What record_steps returns for the run's next call. */
interface RecordedSteps {
  disable_immediate?: boolean;
  url?: string | null;
  steps?: { step_id: string; state: StepState }[];
}

/** Exponential backoff with jitter for a retried step or call. */
export function backoff(ctx: EngineContext, attempt: number): number {
  const base = Math.min(ctx.options.retryBaseMs * 2 ** attempt, ctx.options.retryMaxMs);
  return base * (0.75 + Math.random() * 0.5);
}

/**
 * SDK v4 "async checkpointing": while a call is in flight the SDK posts each
 * step result here and runs on. Results are memoized at once, so a crash
 * mid-call loses none of them. 409 tells the SDK its dispatch is stale.
 */
export async function checkpointAsync(
  ctx: EngineContext,
  runId: string,
  raw: unknown,
): Promise<"ok" | "stale"> {
  const body = checkpointBodySchema.parse(raw);
  const [jobId, token] = body.qi_id.split(":");
  const inflight = jobId ? ctx.inflight.get(jobId) : undefined;
  if (!jobId || !token) return "stale";
  const mark = inflight?.mark ?? new Date();
  if (body.steps.every((op) => op.op === "StepRun" || op.op === "Step")) {
    const recorded = await recordSteps(ctx, {
      runId,
      jobId,
      token,
      ops: body.steps,
      mark,
      runStartedAt: inflight?.sent,
    });
    if (inflight) inflight.mark = new Date();
    return recorded ? "ok" : "stale";
  }
  return ctx.store.transaction(async (tx) => {
    const { rows } = await tx.query<RunRow & { job: JobRow | null }>(
      `SELECT r.*, (SELECT row_to_json(j) FROM ${ctx.s}.jobs j WHERE j.id = $2 AND j.lease_token = $3 AND j.run_id = r.id) AS job
       FROM ${ctx.s}.runs r WHERE r.id = $1 FOR UPDATE OF r`,
      [runId, jobId, token],
    );
    const run = rows[0];
    const job = run?.job;
    if (!run || !job || run.status !== "running") return "stale";
    await applyOps(ctx, tx, { run, job, ops: body.steps, mark });
    if (inflight) inflight.mark = new Date();
    return "ok";
  });
}

/**
 * Step results only (a checkpoint, or a call that ran one step), in one
 * round trip: record_steps locks the run, checks the lease, memoizes the
 * results and sets the run's start if it has none. With `nextCall` it also
 * returns what the run's next call needs, read after the lock. Returns null
 * when the lease is gone or the run has ended.
 */
async function recordSteps(
  ctx: EngineContext,
  input: {
    runId: string;
    jobId: string;
    token: string;
    ops: Op[];
    mark: Date;
    resetJob?: boolean;
    runStartedAt?: Date;
    nextCall?: boolean;
  },
): Promise<RecordedSteps | null> {
  const steps = input.ops.map((op) => ({
    step_id: op.id,
    name: op.displayName ?? op.name ?? op.id,
    op: op.op,
    state: { type: "data", data: op.data ?? null },
  }));
  const { rows } = await ctx.store.repeatableQuery<{ recorded: RecordedSteps | null }>(
    `SELECT ${ctx.s}.record_steps($1, $2, $3, $4::jsonb, $5, $6, $7, $8) AS recorded`,
    [
      input.runId,
      input.jobId,
      input.token,
      JSON.stringify(steps),
      input.mark,
      input.resetJob ?? false,
      input.runStartedAt ?? null,
      input.nextCall ?? false,
    ],
  );
  return rows[0]?.recorded ?? null;
}

/** Reads what a call needs: the run, its function's URL and its memoized steps. */
async function readCallContext(
  ctx: EngineContext,
  runId: string,
): Promise<CallContext | undefined> {
  const { rows } = await ctx.store.repeatableQuery<
    RunRow & { url: string | null; steps: { step_id: string; state: StepState }[] }
  >(
    `SELECT r.*, f.url, COALESCE((SELECT json_agg(json_build_object('step_id', s.step_id, 'state', s.state) ORDER BY s.seq)
       FROM ${ctx.s}.run_steps s WHERE s.run_id = r.id AND s.state IS NOT NULL), '[]') AS steps
     FROM ${ctx.s}.runs r LEFT JOIN ${ctx.s}.functions f ON f.id = r.function_id WHERE r.id = $1`,
    [runId],
  );
  const row = rows[0];
  if (!row) return undefined;
  const { url, steps, ...run } = row;
  return { run, url, steps };
}

export async function callApp(
  ctx: EngineContext,
  { job, entry, known }: { job: JobRow; entry: InflightJob; known: CallContext | undefined },
): Promise<NextJob | undefined> {
  const context = known ?? (await readCallContext(ctx, job.run_id));
  const run = context?.run;
  if (!context || !run || run.status !== "running") return applyForJob(ctx, job, async () => ({}));
  if (!context.url) {
    return applyForJob(ctx, job, async (tx, locked) => {
      await finishRun(ctx, tx, locked, {
        status: "failed",
        error: { name: "Error", message: `Function ${run.function_id} is not synced` },
      });
      return {};
    });
  }
  const started = new Date();
  entry.mark = started;
  entry.sent = started;
  const { response, networkError } = await send(ctx, { job, entry, context });
  if (ctx.stopped) return undefined;
  if (response?.status === 206 && job.step_id === null) {
    const ops = opsResponseSchema.safeParse(parseJson(response.text));
    if (
      ops.success &&
      ops.data.length > 0 &&
      ops.data.every((op) => op.op === "StepRun" || op.op === "Step")
    ) {
      // The classic protocol's common case: a discovery call ran one step. Record it and call again on
      // the same lease, with what the next call needs read in the same round trip.
      const recorded = await recordSteps(ctx, {
        runId: run.id,
        jobId: job.id,
        token: job.lease_token,
        ops: ops.data,
        mark: started,
        resetJob: true,
        runStartedAt: started,
        nextCall: true,
      });
      if (recorded) {
        return {
          job: { ...job, attempt: 0, network_failures: 0 },
          context: {
            run: {
              ...run,
              disable_immediate: recorded.disable_immediate ?? run.disable_immediate,
              started_at: run.started_at ?? started,
            },
            url: recorded.url ?? null,
            steps: recorded.steps ?? [],
          },
        };
      }
    }
  }
  return applyForJob(ctx, job, async (tx, locked) => {
    if (!locked.started_at)
      await tx.query(`UPDATE ${ctx.s}.runs SET started_at = $2 WHERE id = $1`, [
        locked.id,
        started,
      ]);
    if (!response) {
      if (job.network_failures + 1 >= MAX_NETWORK_FAILURES) {
        await finishRun(ctx, tx, locked, {
          status: "failed",
          error: { name: "Error", message: `App unreachable: ${networkError}` },
        });
        return {};
      }
      // A refused connection costs nothing: the app is asked again at least each second, so a
      // restarted app gets its calls as soon as it is up.
      const wait = Math.min(100 * 2 ** Math.min(job.network_failures, 6), 1000);
      ctx.options.log(`run ${locked.id} call failed (${networkError}); retrying in ${wait}ms`);
      return {
        reschedule: {
          runAt: new Date(Date.now() + wait),
          attempt: job.attempt,
          networkFailures: job.network_failures + 1,
        },
      };
    }
    return handleResponse(ctx, tx, { run: locked, job, response, entry });
  });
}

/** Sends the call request; a network failure is returned, not thrown. */
async function send(
  ctx: EngineContext,
  { job, entry, context }: { job: JobRow; entry: InflightJob; context: CallContext },
): Promise<{ response?: CallResponse; networkError?: string }> {
  const { run } = context;
  const steps = Object.fromEntries(context.steps.map((row) => [row.step_id, row.state]));
  const stack = context.steps.map((row) => row.step_id);
  const url = new URL(context.url ?? "");
  url.searchParams.set("stepId", job.step_id ?? "step");
  const body = {
    event: run.events[0],
    events: run.events,
    steps,
    ctx: {
      run_id: run.id,
      fn_id: run.function_id,
      attempt: job.attempt,
      max_attempts: run.max_attempts,
      disable_immediate_execution: run.disable_immediate,
      use_api: false,
      qi_id: `${job.id}:${job.lease_token}`,
      stack: { stack, current: Math.max(stack.length - 1, 0) },
    },
  };
  try {
    const res = await request(url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-inngest-server-kind": "dev" },
      body: JSON.stringify(body),
      dispatcher: ctx.agent,
      signal: entry.abort.signal,
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    }
    return { response: { status: res.statusCode, headers, text: await res.body.text() } };
  } catch (err) {
    return { networkError: (err as Error).message };
  }
}

async function handleResponse(
  ctx: EngineContext,
  tx: Tx,
  {
    run,
    job,
    response,
    entry,
  }: { run: RunRow; job: JobRow; response: CallResponse; entry: InflightJob },
): Promise<JobOutcome> {
  const parsed = parseJson(response.text);
  if (response.status === 200) {
    await finishRun(ctx, tx, run, { status: "completed", output: parsed });
    return {};
  }
  if (response.status === 206) {
    const ops = opsResponseSchema.safeParse(parsed);
    if (!ops.success) {
      return functionError(ctx, tx, {
        run,
        job,
        error: { name: "Error", message: `Invalid ops from SDK: ${ops.error.message}` },
        headers: response.headers,
      });
    }
    return applyOps(ctx, tx, {
      run,
      job,
      ops: ops.data,
      mark: entry.mark,
      retryAfter: response.headers.get("retry-after"),
    });
  }
  const error = toSerializedError(parsed, `Function call failed with HTTP ${response.status}`);
  return functionError(ctx, tx, { run, job, error, headers: response.headers });
}

async function functionError(
  ctx: EngineContext,
  tx: Tx,
  {
    run,
    job,
    error,
    headers,
  }: { run: RunRow; job: JobRow; error: SerializedError; headers: Headers },
): Promise<JobOutcome> {
  const noRetry = headers.get("x-inngest-no-retry") === "true";
  if (noRetry || job.attempt + 1 >= run.max_attempts) {
    await finishRun(ctx, tx, run, { status: "failed", error });
    return {};
  }
  const wait = parseRetryAfter(headers.get("retry-after")) ?? backoff(ctx, job.attempt);
  ctx.options.log(
    `run ${run.id} attempt ${job.attempt + 1} failed (${error.message}); retrying in ${Math.round(wait)}ms`,
  );
  return {
    reschedule: {
      runAt: new Date(Date.now() + wait),
      attempt: job.attempt + 1,
      networkFailures: 0,
    },
  };
}

function parseJson(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
