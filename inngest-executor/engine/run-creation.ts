/**
 * Run creation: a planned run becomes a run row with its first call, its
 * timeouts and its cancellations, all in one statement. A run with no
 * concurrency key is handed straight to this worker when it has a free slot.
 */
import { parseDurationMs } from "../durations";
import { evaluateKey } from "../expressions";
import { newUlid, type FunctionConfig } from "../protocol";
import { wake, type EngineContext } from "./context";
import { leaseSeconds, newLeaseToken, releaseLeases } from "./leases";
import type { Tx } from "./store";
import {
  DEFAULT_RETRIES,
  type FlowNote,
  type JobRow,
  type NextJob,
  type PlannedRun,
  type RunRow,
} from "./types";
import { runJob, track } from "./worker";

interface NewRun {
  id: string;
  function_id: string;
  event_id: string | null;
  events: PlannedRun["events"];
  idempotency_key: string | null;
  concurrency_keys: string[];
  max_attempts: number;
  parent_run_id: string | null;
  parent_step_id: string | null;
  singleton_key: string | null;
  flow: FlowNote[] | null;
  config: FunctionConfig;
  url: string;
  lease_token: string | null;
  run_at: Date;
}

interface NewJob {
  run_id: string;
  kind: string;
  step_id: string | null;
  run_at: Date;
  concurrency_keys: string[];
  lease_token: string | null;
}

interface NewCancellation {
  run_id: string;
  event_name: string;
  expression: string | null;
  expires_at: Date | null;
}

/**
 * Creates runs with their first jobs, in one statement. The first call of a
 * run this worker can take is leased in the same transaction and sent as soon
 * as that commits, with no queue poll and no read in between. Returns the ids
 * of the runs an idempotency key did not suppress, and whether any job was
 * left on the queue (to wake the workers).
 */
export async function createRuns(
  ctx: EngineContext,
  tx: Tx,
  planned: PlannedRun[],
): Promise<{ created: string[]; queued: boolean }> {
  if (planned.length === 0) return { created: [], queued: false };
  const now = Date.now();
  const rows = planned.map((plan) => newRun(ctx, plan, now));
  let reserved = rows.filter((row) => row.lease_token !== null).length;
  const release = (count: number) => {
    ctx.reserved -= count;
    reserved -= count;
  };
  const jobs: NewJob[] = [];
  const cancellations: NewCancellation[] = [];
  for (const row of rows) firstJobs(row, now, jobs, cancellations);
  let result: { created: string[]; leased: { id: string; run_id: string }[]; queued: boolean };
  try {
    await expireIdempotencyKeys(ctx, tx, rows);
    result = await insertRuns(ctx, tx, { rows, jobs, cancellations });
  } catch (err) {
    release(reserved);
    throw err;
  }
  // Runs an idempotency key suppressed need no slot.
  release(reserved - result.leased.length);
  const createdIds = new Set(result.created);
  for (const row of rows) {
    if (!createdIds.has(row.id)) {
      ctx.options.log(
        row.idempotency_key !== null
          ? `run skipped: ${row.function_id} idempotency key ${JSON.stringify(row.idempotency_key)} already used`
          : `run skipped: ${row.function_id} singleton key ${JSON.stringify(row.singleton_key)} has a running run`,
      );
      continue;
    }
    ctx.options.log(
      `run ${row.id} queued: ${row.function_id} for ${row.events[0]?.name} (${row.event_id})`,
    );
  }
  if (result.leased.length > 0)
    handOffAfterCommit(ctx, tx, { rows, leased: result.leased, now, release });
  return { created: result.created, queued: result.queued };
}

function newRun(ctx: EngineContext, plan: PlannedRun, now: number): NewRun {
  const { config, url, events, parent } = plan;
  const vars = { event: events[0] };
  const concurrencyKeys = concurrencyKeysFor(config, vars);
  // NOTE: as in Inngest's queue, priority shifts when the first call is due: a positive factor puts it
  // among jobs queued that many seconds ago (ahead of them), a negative one delays it.
  const due = (plan.runAt?.getTime() ?? now) - (plan.priority ?? 0) * 1000;
  const delayed = due > now;
  const direct =
    concurrencyKeys.length === 0 &&
    !delayed &&
    !ctx.stopped &&
    ctx.inflight.size + ctx.reserved < ctx.options.workerConcurrency;
  if (direct) ctx.reserved++;
  return {
    id: newUlid(now),
    function_id: config.id,
    event_id: events[0]?.id ?? null,
    events,
    idempotency_key: config.idempotency ? evaluateKey(config.idempotency, vars) : null,
    concurrency_keys: concurrencyKeys,
    max_attempts: (Object.values(config.steps)[0]?.retries?.attempts ?? DEFAULT_RETRIES) + 1,
    parent_run_id: parent?.runId ?? null,
    parent_step_id: parent?.stepId ?? null,
    singleton_key: plan.singletonKey ?? null,
    flow: plan.flow && plan.flow.length > 0 ? plan.flow : null,
    config,
    url,
    lease_token: direct ? newLeaseToken() : null,
    run_at: new Date(due),
  };
}

/** A new run's first call, its start and finish timeouts, and its cancellations. */
function firstJobs(
  row: NewRun,
  now: number,
  jobs: NewJob[],
  cancellations: NewCancellation[],
): void {
  jobs.push({
    run_id: row.id,
    kind: "call",
    step_id: null,
    run_at: row.run_at,
    concurrency_keys: row.concurrency_keys,
    lease_token: row.lease_token,
  });
  for (const which of ["start", "finish"] as const) {
    const limit = row.config.timeouts?.[which]
      ? parseDurationMs(row.config.timeouts[which])
      : undefined;
    if (limit !== undefined)
      jobs.push({
        run_id: row.id,
        kind: "run-timeout",
        step_id: which,
        run_at: new Date(now + limit),
        concurrency_keys: [],
        lease_token: null,
      });
  }
  for (const cancel of row.config.cancel ?? []) {
    const timeout = cancel.timeout ? parseDurationMs(cancel.timeout) : undefined;
    cancellations.push({
      run_id: row.id,
      event_name: cancel.event,
      expression: cancel.if ?? null,
      expires_at: timeout === undefined ? null : new Date(now + timeout),
    });
  }
}

/**
 * An idempotency key holds for 24 hours, as in Inngest: an older run gives its key up, so the
 * unique index lets the new run in.
 */
async function expireIdempotencyKeys(ctx: EngineContext, tx: Tx, rows: NewRun[]): Promise<void> {
  const keyed = rows.filter((row) => row.idempotency_key !== null);
  if (keyed.length === 0) return;
  await tx.query(
    `UPDATE ${ctx.s}.runs r SET idempotency_key = NULL
     FROM unnest($1::text[], $2::text[]) AS x(function_id, key)
     WHERE r.function_id = x.function_id AND r.idempotency_key = x.key AND r.created_at < now() - interval '24 hours'`,
    [keyed.map((row) => row.function_id), keyed.map((row) => row.idempotency_key)],
  );
}

async function insertRuns(
  ctx: EngineContext,
  tx: Tx,
  input: { rows: NewRun[]; jobs: NewJob[]; cancellations: NewCancellation[] },
): Promise<{ created: string[]; leased: { id: string; run_id: string }[]; queued: boolean }> {
  const { s } = ctx;
  const { rows: out } = await ctx.store.query<{
    created: string[];
    leased: { id: string; run_id: string }[];
    queued: boolean;
  }>(
    tx,
    `WITH created AS (
       INSERT INTO ${s}.runs (id, function_id, event_id, events, status, idempotency_key, concurrency_keys, max_attempts, parent_run_id,
              parent_step_id, singleton_key, flow)
       SELECT x.id, x.function_id, x.event_id, x.events, 'running', x.idempotency_key,
              ARRAY(SELECT jsonb_array_elements_text(x.concurrency_keys)), x.max_attempts, x.parent_run_id, x.parent_step_id,
              x.singleton_key, x.flow
       FROM jsonb_to_recordset($1::jsonb) AS x(id text, function_id text, event_id text, events jsonb, idempotency_key text,
            concurrency_keys jsonb, max_attempts int, parent_run_id text, parent_step_id text, singleton_key text, flow jsonb)
       ON CONFLICT DO NOTHING RETURNING id
     ), queued AS (
       INSERT INTO ${s}.jobs (run_id, kind, step_id, run_at, concurrency_keys, leased_by, lease_token, lease_until)
       SELECT x.run_id, x.kind, x.step_id, x.run_at, ARRAY(SELECT jsonb_array_elements_text(x.concurrency_keys)),
              CASE WHEN x.lease_token IS NOT NULL THEN $4::bigint END, x.lease_token,
              CASE WHEN x.lease_token IS NOT NULL THEN now() + make_interval(secs => $5) END
       FROM jsonb_to_recordset($2::jsonb) AS x(run_id text, kind text, step_id text, run_at timestamptz,
            concurrency_keys jsonb, lease_token text)
       WHERE x.run_id IN (SELECT id FROM created)
       RETURNING id, run_id, lease_token
     ), cancellations AS (
       INSERT INTO ${s}.cancellations (run_id, event_name, expression, expires_at)
       SELECT x.run_id, x.event_name, x.expression, x.expires_at
       FROM jsonb_to_recordset($3::jsonb) AS x(run_id text, event_name text, expression text, expires_at timestamptz)
       WHERE x.run_id IN (SELECT id FROM created)
     )
     SELECT ARRAY(SELECT id FROM created) AS created,
       COALESCE((SELECT json_agg(json_build_object('id', id::text, 'run_id', run_id)) FROM queued WHERE lease_token IS NOT NULL), '[]') AS leased,
       EXISTS (SELECT 1 FROM queued WHERE lease_token IS NULL) AS queued`,
    [
      JSON.stringify(
        input.rows.map(
          ({ config: _config, url: _url, lease_token: _token, run_at: _at, ...row }) => row,
        ),
      ),
      JSON.stringify(input.jobs),
      JSON.stringify(input.cancellations),
      ctx.workerId,
      leaseSeconds(ctx),
    ],
  );
  return out[0] ?? { created: [], leased: [], queued: false };
}

/** Sends the first calls leased to this worker once the transaction commits. */
function handOffAfterCommit(
  ctx: EngineContext,
  tx: Tx,
  input: {
    rows: NewRun[];
    leased: { id: string; run_id: string }[];
    now: number;
    release: (count: number) => void;
  },
): void {
  const byRun = new Map(input.rows.map((row) => [row.id, row]));
  const handOff = input.leased.flatMap(({ id, run_id }): NextJob[] => {
    const row = byRun.get(run_id);
    if (!row?.lease_token) return [];
    const job: JobRow = {
      id,
      run_id,
      kind: "call",
      step_id: null,
      attempt: 0,
      network_failures: 0,
      concurrency_keys: [],
      lease_token: row.lease_token,
    };
    const run: RunRow = {
      id: row.id,
      function_id: row.function_id,
      event_id: row.event_id,
      events: row.events,
      status: "running",
      max_attempts: row.max_attempts,
      disable_immediate: false,
      parent_run_id: row.parent_run_id,
      parent_step_id: row.parent_step_id,
      concurrency_keys: [],
      created_at: new Date(input.now),
      started_at: null,
    };
    return [{ job, context: { run, url: row.url, steps: [] } }];
  });
  const count = input.leased.length;
  ctx.store.afterTransaction(tx, (committed) => {
    input.release(count);
    if (committed && !ctx.stopped) {
      for (const next of handOff) track(ctx, runJob(ctx, next));
      return;
    }
    // Rolled back: nothing to hand back. But a COMMIT lost with its connection may have committed,
    // and this worker stays alive, so its leases would not be reclaimed: give them back to the queue.
    void releaseLeases(ctx, {
      jobs: handOff.map((next) => ({ id: next.job.id, token: next.job.lease_token })),
    }).then(
      () => wake(ctx),
      () => undefined,
    );
  });
}

/** Encodes each concurrency constraint of a run as "<limit>|<scope>|<key expression>|<key value>". */
export function concurrencyKeysFor(
  config: FunctionConfig,
  vars: Record<string, unknown>,
): string[] {
  const raw = config.concurrency;
  if (raw === undefined || raw === null) return [];
  const entries = typeof raw === "number" ? [{ limit: raw }] : Array.isArray(raw) ? raw : [raw];
  return entries
    .filter((entry) => entry.limit > 0)
    .map((entry) => {
      const scope =
        "scope" in entry && entry.scope && entry.scope !== "fn" ? entry.scope : `fn:${config.id}`;
      const keyExpr = "key" in entry && entry.key ? entry.key : "";
      const value = keyExpr ? evaluateKey(keyExpr, vars) : "";
      return `${entry.limit}|${scope}|${keyExpr}|${value}`;
    });
}
