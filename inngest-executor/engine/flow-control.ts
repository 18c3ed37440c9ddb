/**
 * Flow control between an event and the runs it starts, with Inngest's
 * semantics: `rateLimit` skips events over the limit, `batchEvents` and
 * `debounce` collect events into one run opened early and started later,
 * `singleton` skips or cancels, `throttle` delays a run's start (never drops
 * it) and `priority.run` moves a start earlier or later. Everything lives in
 * Postgres under row or advisory locks, so several executors on one schema
 * agree.
 */
import { parseDurationMs } from "../durations";
import { evaluateExpression, evaluateKey, expressionMatches } from "../expressions";
import type { FunctionConfig } from "../protocol";
import type { EngineContext } from "./context";
import { cancelRunInTx } from "./lifecycle";
import { createRuns } from "./run-creation";
import type { Tx } from "./store";
import type { FlowNote, PlannedRun } from "./types";

const MAX_PRIORITY_SECONDS = 600;

function hasFlowControl(config: FunctionConfig): boolean {
  return Boolean(
    config.rateLimit ||
    config.batchEvents ||
    config.debounce ||
    config.throttle ||
    config.singleton ||
    config.priority?.run,
  );
}

/** What became of a planned run: the run created (none when skipped or joined to an open run). */
interface Planned {
  created: string[];
  queued: boolean;
  /** The rule that skipped it. */
  skipped?: FlowNote;
}

/** Creates the runs that planned (event-triggered) runs become; returns whether any was queued. */
export async function planRuns(
  ctx: EngineContext,
  tx: Tx,
  planned: PlannedRun[],
): Promise<{ queued: boolean }> {
  const plain = planned.filter((plan) => !hasFlowControl(plan.config));
  let queued = plain.length > 0 && (await createRuns(ctx, tx, plain)).queued;
  // Runs under flow control are decided one at a time, in event order: each decision sees the last.
  for (const plan of planned)
    if (hasFlowControl(plan.config) && (await planOne(ctx, tx, plan, false)).queued) queued = true;
  return { queued };
}

/**
 * A run started by `step.invoke`: rateLimit, singleton, throttle and priority apply (a skipped
 * invoke fails its step, as in Inngest); batchEvents and debounce do not, the invoke starts at once.
 */
export function startInvokedRun(ctx: EngineContext, tx: Tx, plan: PlannedRun): Promise<Planned> {
  return hasFlowControl(plan.config) ? planOne(ctx, tx, plan, true) : createRuns(ctx, tx, [plan]);
}

async function planOne(
  ctx: EngineContext,
  tx: Tx,
  plan: PlannedRun,
  invoked: boolean,
): Promise<Planned> {
  const none = { created: [], queued: false };
  const { config } = plan;
  const vars = { event: plan.events[0] };
  const keyOf = (expression: string | undefined) =>
    expression ? evaluateKey(expression, vars) : "";
  if (config.rateLimit) {
    const { limit, period } = config.rateLimit;
    const key = keyOf(config.rateLimit.key);
    const admitted = await gcra(ctx, tx, {
      key: `rate|${config.id}|${key}`,
      periodMs: parseDurationMs(period) ?? 0,
      limit,
      capacity: limit,
      admitOnly: true,
    });
    if (!admitted) {
      const skipped = await recordSkip(ctx, tx, plan, {
        rule: "rateLimit",
        detail: `over ${limit} per ${period}${key ? ` for key ${key}` : ""}`,
      });
      return { ...none, skipped };
    }
  }
  if (!invoked && config.batchEvents && expressionMatches(config.batchEvents.if, vars))
    return addToOpenRun(ctx, tx, plan, { kind: "batch", key: keyOf(config.batchEvents.key) });
  if (!invoked && config.debounce)
    return addToOpenRun(ctx, tx, plan, { kind: "debounce", key: keyOf(config.debounce.key) });
  const flow: FlowNote[] = [...(plan.flow ?? [])];
  let singletonKey: string | null = null;
  if (config.singleton) {
    singletonKey = keyOf(config.singleton.key);
    const skipped = await applySingleton(ctx, tx, plan, { key: singletonKey, flow });
    if (skipped) return { ...none, skipped };
  }
  let runAt = plan.runAt;
  if (config.throttle) {
    const { limit, period, burst } = config.throttle;
    const key = keyOf(config.throttle.key);
    const start = await gcra(ctx, tx, {
      key: `throttle|${config.id}|${key}`,
      periodMs: parseDurationMs(period) ?? 0,
      limit,
      capacity: limit + (burst ?? 0),
      admitOnly: false,
    });
    if (start && start.getTime() > Math.max(Date.now(), runAt?.getTime() ?? 0)) {
      runAt = start;
      flow.push({
        rule: "throttle",
        detail: `start delayed to ${start.toISOString()} (${limit} per ${period}${key ? `, key ${key}` : ""})`,
      });
    }
  }
  const priority = config.priority?.run ? priorityOf(config.priority.run, vars) : 0;
  if (priority !== 0)
    flow.push({ rule: "priority", detail: `${priority > 0 ? "+" : ""}${priority} s` });
  const result = await createRuns(ctx, tx, [{ ...plan, runAt, priority, singletonKey, flow }]);
  if (result.created.length === 0 && singletonKey !== null && !config.idempotency) {
    const skipped = await recordSkip(ctx, tx, plan, {
      rule: "singleton",
      detail: `key ${singletonKey} has a running run`,
    });
    return { ...result, skipped };
  }
  return result;
}

/** `priority.run` as whole seconds within Inngest's range; anything but a number is 0. */
function priorityOf(expression: string, vars: Record<string, unknown>): number {
  const value = evaluateExpression(expression, vars);
  if (typeof value !== "number" || !Number.isFinite(value)) return 0;
  return Math.max(-MAX_PRIORITY_SECONDS, Math.min(MAX_PRIORITY_SECONDS, Math.trunc(value)));
}

/** `singleton`: the skip, when the new run must be skipped; in cancel mode the running one is cancelled. */
async function applySingleton(
  ctx: EngineContext,
  tx: Tx,
  plan: PlannedRun,
  { key, flow }: { key: string; flow: FlowNote[] },
): Promise<FlowNote | undefined> {
  const mode = plan.config.singleton?.mode;
  await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [
    `${ctx.options.schema}:singleton:${plan.config.id}:${key}`,
  ]);
  const { rows } = await tx.query<{ id: string }>(
    `SELECT id FROM ${ctx.s}.runs WHERE function_id = $1 AND singleton_key = $2 AND status = 'running'`,
    [plan.config.id, key],
  );
  const running = rows[0]?.id;
  if (!running) return undefined;
  if (mode === "skip")
    return recordSkip(ctx, tx, plan, {
      rule: "singleton",
      detail: `run ${running} is running${key ? ` for key ${key}` : ""}`,
    });
  await cancelRunInTx(ctx, tx, running, "cancelled by singleton: a newer run replaced it");
  flow.push({ rule: "singleton", detail: `replaced run ${running}` });
  return undefined;
}

/**
 * GCRA, as Inngest's queue uses for throttle and rateLimit: a key's theoretical
 * arrival time advances by period/limit per admitted run, and up to `capacity`
 * runs fit at once. Returns when the run may start; in `admitOnly` mode, null
 * when it may not start now (and nothing is consumed).
 */
async function gcra(
  ctx: EngineContext,
  tx: Tx,
  opts: { key: string; periodMs: number; limit: number; capacity: number; admitOnly: boolean },
): Promise<Date | null> {
  const interval = opts.periodMs / opts.limit;
  const tolerance = Math.max(opts.capacity - 1, 0) * interval;
  const { rows } = await ctx.store.query<{ start: Date }>(
    tx,
    `INSERT INTO ${ctx.s}.flow_gcra AS g (key, tat) VALUES ($1, now() + $2::float8 * interval '1 millisecond')
     ON CONFLICT (key) DO UPDATE SET tat = GREATEST(g.tat, now()) + $2::float8 * interval '1 millisecond'
       WHERE NOT $4 OR g.tat - $3::float8 * interval '1 millisecond' <= now()
     RETURNING GREATEST(now(), tat - ($2::float8 + $3::float8) * interval '1 millisecond') AS start`,
    [opts.key, interval, tolerance, opts.admitOnly],
  );
  return rows[0]?.start ?? null;
}

/**
 * `batchEvents` and `debounce`: the event joins the key's open run (a run whose
 * first call has not gone out), or opens one. A batch starts when full or when
 * its timeout passes; a debounced run starts `period` after the last event
 * (at most `timeout` after the first) with the last event only.
 */
async function addToOpenRun(
  ctx: EngineContext,
  tx: Tx,
  plan: PlannedRun,
  { kind, key }: { kind: "batch" | "debounce"; key: string },
): Promise<Planned> {
  const none = { created: [], queued: false };
  const { s } = ctx;
  const { config } = plan;
  const event = plan.events[0];
  if (!event) return none;
  await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [
    `${ctx.options.schema}:${kind}:${config.id}:${key}`,
  ]);
  // NOTE: the job row is locked too, so no worker can lease the first call while the event joins;
  // a call already leased (or tried) means the run has started, and the event opens a new one.
  const { rows } = await tx.query<{
    run_id: string;
    job_id: string;
    opened_at: Date;
    event_count: number;
  }>(
    `SELECT p.run_id, j.id AS job_id, p.opened_at, p.event_count FROM ${s}.pending_runs p
     JOIN ${s}.runs r ON r.id = p.run_id AND r.status = 'running' AND r.started_at IS NULL
     JOIN ${s}.jobs j ON j.run_id = p.run_id AND j.kind = 'call' AND j.step_id IS NULL AND j.lease_token IS NULL
       AND j.attempt = 0 AND j.network_failures = 0
     WHERE p.function_id = $1 AND p.kind = $2 AND p.key = $3 FOR UPDATE OF r, j`,
    [config.id, kind, key],
  );
  const open = rows[0];
  const count = (open?.event_count ?? 0) + 1;
  if (kind === "batch") {
    const batch = config.batchEvents;
    if (!batch) return none;
    const full = count >= batch.maxSize;
    const note: FlowNote[] = [
      { rule: "batchEvents", detail: `batch of ${count} event(s)${key ? `, key ${key}` : ""}` },
    ];
    if (open) {
      await tx.query(`UPDATE ${s}.runs SET events = events || $2::jsonb, flow = $3 WHERE id = $1`, [
        open.run_id,
        JSON.stringify([event]),
        JSON.stringify(note),
      ]);
      if (!full) {
        await tx.query(
          `UPDATE ${s}.pending_runs SET event_count = $4 WHERE function_id = $1 AND kind = $2 AND key = $3`,
          [config.id, kind, key, count],
        );
        return none;
      }
      await tx.query(`UPDATE ${s}.jobs SET run_at = now() WHERE id = $1`, [open.job_id]);
      await tx.query(
        `DELETE FROM ${s}.pending_runs WHERE function_id = $1 AND kind = $2 AND key = $3`,
        [config.id, kind, key],
      );
      return { created: [], queued: true };
    }
    const runAt = full ? undefined : new Date(Date.now() + (parseDurationMs(batch.timeout) ?? 0));
    return openRun(ctx, tx, { plan: { ...plan, runAt, flow: note }, kind, key, keepOpen: !full });
  }
  const debounce = config.debounce;
  if (!debounce) return none;
  const period = parseDurationMs(debounce.period) ?? 0;
  const timeout = debounce.timeout ? parseDurationMs(debounce.timeout) : undefined;
  const note: FlowNote[] = [
    {
      rule: "debounce",
      detail: `last of ${count} event(s) after ${debounce.period} of quiet${key ? `, key ${key}` : ""}`,
    },
  ];
  if (open) {
    const openedAt = new Date(open.opened_at).getTime();
    const due = Math.min(
      Date.now() + period,
      timeout === undefined ? Infinity : openedAt + timeout,
    );
    await tx.query(`UPDATE ${s}.runs SET events = $2, event_id = $3, flow = $4 WHERE id = $1`, [
      open.run_id,
      JSON.stringify([event]),
      event.id,
      JSON.stringify(note),
    ]);
    await tx.query(`UPDATE ${s}.jobs SET run_at = $2 WHERE id = $1`, [open.job_id, new Date(due)]);
    await tx.query(
      `UPDATE ${s}.pending_runs SET event_count = $4 WHERE function_id = $1 AND kind = $2 AND key = $3`,
      [config.id, kind, key, count],
    );
    return none;
  }
  const runAt = new Date(Date.now() + Math.min(period, timeout ?? Infinity));
  return openRun(ctx, tx, { plan: { ...plan, runAt, flow: note }, kind, key, keepOpen: true });
}

async function openRun(
  ctx: EngineContext,
  tx: Tx,
  opts: { plan: PlannedRun; kind: string; key: string; keepOpen: boolean },
): Promise<Planned> {
  const result = await createRuns(ctx, tx, [opts.plan]);
  const runId = result.created[0];
  if (runId && opts.keepOpen)
    await tx.query(
      `INSERT INTO ${ctx.s}.pending_runs (function_id, kind, key, run_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (function_id, kind, key) DO UPDATE SET run_id = EXCLUDED.run_id, opened_at = now(), event_count = 1`,
      [opts.plan.config.id, opts.kind, opts.key, runId],
    );
  return result;
}

/** An event a rule kept from starting a run: logged, and listed on the runs page. */
async function recordSkip(
  ctx: EngineContext,
  tx: Tx,
  plan: PlannedRun,
  { rule, detail }: FlowNote,
): Promise<FlowNote> {
  const eventId = plan.events[0]?.id ?? null;
  await tx.query(
    `INSERT INTO ${ctx.s}.skipped_runs (function_id, event_id, rule, detail) VALUES ($1, $2, $3, $4)`,
    [plan.config.id, eventId, rule, detail],
  );
  ctx.options.log(`run skipped: ${plan.config.id} for event ${eventId} by ${rule} (${detail})`);
  return { rule, detail };
}
