/** Reads behind REST API v1 and the runs page; none of them takes a lock. */
import type { StoredEvent } from "../protocol";
import type { EngineContext } from "./context";
import type { RunSummaryRow, StepSummaryRow } from "./types";

export type RecentRun = RunSummaryRow & { event_name: string | null; steps: StepSummaryRow[] };

const RUN_COLUMNS = `r.id, r.function_id, r.event_id, r.status, r.output, r.error, r.created_at, r.started_at, r.ended_at, f.app_id`;

export async function getRun(ctx: EngineContext, runId: string) {
  const { rows } = await ctx.store.pool.query(
    `SELECT ${RUN_COLUMNS}
     FROM ${ctx.s}.runs r LEFT JOIN ${ctx.s}.functions f ON f.id = r.function_id WHERE r.id = $1`,
    [runId],
  );
  return rows[0] as RunSummaryRow | undefined;
}

export async function listRunsForEvent(
  ctx: EngineContext,
  eventId: string,
): Promise<RunSummaryRow[]> {
  const { rows } = await ctx.store.pool.query(
    `SELECT ${RUN_COLUMNS}
     FROM ${ctx.s}.runs r LEFT JOIN ${ctx.s}.functions f ON f.id = r.function_id WHERE r.event_id = $1 ORDER BY r.created_at`,
    [eventId],
  );
  return rows as RunSummaryRow[];
}

export async function getEvent(
  ctx: EngineContext,
  eventId: string,
): Promise<StoredEvent | undefined> {
  const { rows } = await ctx.store.pool.query<{ payload: StoredEvent }>(
    `SELECT payload FROM ${ctx.s}.events WHERE id = $1`,
    [eventId],
  );
  return rows[0]?.payload;
}

export async function recentRuns(ctx: EngineContext, limit: number): Promise<RecentRun[]> {
  const { s } = ctx;
  const { rows } = await ctx.store.pool.query(
    `SELECT ${RUN_COLUMNS}, e.name AS event_name,
            COALESCE((SELECT json_agg(json_build_object('step_id', st.step_id, 'name', st.name, 'op', st.op, 'status', st.status,
                'attempts', st.attempts, 'started_at', st.started_at, 'ended_at', st.ended_at) ORDER BY COALESCE(st.seq, 9e18), st.started_at)
              FROM ${s}.run_steps st WHERE st.run_id = r.id), '[]') AS steps
     FROM ${s}.runs r LEFT JOIN ${s}.functions f ON f.id = r.function_id LEFT JOIN ${s}.events e ON e.id = r.event_id
     ORDER BY r.created_at DESC LIMIT $1`,
    [limit],
  );
  return rows as RecentRun[];
}
