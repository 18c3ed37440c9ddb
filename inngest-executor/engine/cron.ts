/**
 * Cron triggers. Each (function, schedule) has a row with its next tick, kept
 * across restarts and re-syncs. A timer fires due ticks; the row is locked
 * (SKIP LOCKED) and the tick's event id is derived from the function, the
 * schedule and the tick, so with several executors on one schema each tick
 * starts one run. A tick missed while no executor ran fires once at start.
 */
import { parseDurationMs } from "../durations";
import {
  deterministicUlid,
  functionConfigSchema,
  type FunctionConfig,
  type StoredEvent,
} from "../protocol";
import { notify, type EngineContext } from "./context";
import { planRuns } from "./flow-control";
import { nextCronTick } from "./settings";
import type { Tx } from "./store";

const SCHEDULED_EVENT = "inngest/scheduled.timer";
/** How often the timer looks again when nothing is due soon (another executor may have synced). */
const MAX_IDLE_MS = 1000;

/** Keeps a function's cron rows in step with its triggers; a schedule that did not change keeps its next tick. */
export async function syncCronSchedules(
  ctx: EngineContext,
  tx: Tx,
  fn: FunctionConfig,
): Promise<void> {
  const crons = fn.triggers.flatMap((trigger) => (trigger.cron ? [trigger.cron] : []));
  await tx.query(
    `DELETE FROM ${ctx.s}.cron_schedules WHERE function_id = $1 AND NOT (cron = ANY($2::text[]))`,
    [fn.id, crons],
  );
  for (const cron of crons) {
    const next = nextCronTick(cron, new Date());
    if (!next) continue;
    await tx.query(
      `INSERT INTO ${ctx.s}.cron_schedules (function_id, cron, next_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
      [fn.id, cron, next],
    );
  }
}

/** Starts the cron timer; the returned function stops it and waits for a firing under way. */
export function startCronTimer(ctx: EngineContext): () => Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let firing: Promise<void> = Promise.resolve();
  let stopped = false;
  const tick = () => {
    firing = fireDueTicks(ctx)
      .catch((err: Error) => {
        ctx.options.log(`cron failed: ${err.message}`);
        return MAX_IDLE_MS;
      })
      .then((waitMs) => {
        if (!stopped) timer = setTimeout(tick, Math.max(Math.min(waitMs, MAX_IDLE_MS), 5));
      });
  };
  tick();
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await firing;
  };
}

/** Starts a run for every due tick; returns how long until the next one. */
async function fireDueTicks(ctx: EngineContext): Promise<number> {
  const { s } = ctx;
  return ctx.store.transaction(async (tx) => {
    const { rows } = await tx.query<{
      function_id: string;
      cron: string;
      next_at: Date;
      config: unknown;
      url: string;
    }>(
      `SELECT c.function_id, c.cron, c.next_at, f.config, f.url FROM ${s}.cron_schedules c
       JOIN ${s}.functions f ON f.id = c.function_id
       WHERE c.next_at <= now() ORDER BY c.next_at LIMIT 100 FOR UPDATE OF c SKIP LOCKED`,
    );
    let queued = false;
    for (const row of rows) {
      const tickAt = new Date(row.next_at);
      const parsed = functionConfigSchema.safeParse(row.config);
      const next = nextCronTick(row.cron, new Date(Math.max(Date.now(), tickAt.getTime())));
      await tx.query(
        next
          ? `UPDATE ${s}.cron_schedules SET next_at = $3 WHERE function_id = $1 AND cron = $2`
          : `DELETE FROM ${s}.cron_schedules WHERE function_id = $1 AND cron = $2`,
        next ? [row.function_id, row.cron, next] : [row.function_id, row.cron],
      );
      if (!parsed.success) continue;
      const event: StoredEvent = {
        id: deterministicUlid(tickAt.getTime(), `cron\n${row.function_id}\n${row.cron}`),
        name: SCHEDULED_EVENT,
        data: { cron: row.cron },
        ts: tickAt.getTime(),
      };
      // The tick's event id is its identity: a tick that already fired (another executor) inserts nothing.
      const inserted = await tx.query(
        `INSERT INTO ${s}.events (id, name, payload) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
        [event.id, event.name, JSON.stringify(event)],
      );
      if (!inserted.rowCount) continue;
      const jitter = parsed.data.triggers.find((trigger) => trigger.cron === row.cron)?.jitter;
      const jitterMs = typeof jitter === "string" ? (parseDurationMs(jitter) ?? 0) : 0;
      // A tick is planned like an event: a cron function's singleton, throttle, rateLimit and
      // priority apply to it too.
      const planned = await planRuns(ctx, tx, [
        {
          config: parsed.data,
          url: row.url,
          events: [event],
          runAt: jitterMs > 0 ? new Date(Date.now() + Math.random() * jitterMs) : undefined,
          flow: [{ rule: "cron", detail: `${row.cron} at ${tickAt.toISOString()}` }],
        },
      ]);
      if (planned.queued) queued = true;
    }
    if (queued) await notify(ctx, tx);
    const { rows: due } = await tx.query<{ ms: number | null }>(
      `SELECT EXTRACT(EPOCH FROM (min(next_at) - now())) * 1000 AS ms FROM ${s}.cron_schedules`,
    );
    const ms = due[0]?.ms;
    return ms === null || ms === undefined ? MAX_IDLE_MS : Math.max(0, Number(ms));
  });
}
