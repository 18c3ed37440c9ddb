/** Reads behind REST API v1 and the runs page; none of them takes a lock. */
import type { StoredEvent } from "../protocol";
import type { EngineContext } from "./context";
import type { FlowNote, RunSummaryRow, StepSummaryRow } from "./types";

export type RecentRun = RunSummaryRow & {
  event_name: string | null;
  steps: StepSummaryRow[];
  flow: FlowNote[] | null;
  concurrency_keys: string[];
  /** When a run that has not started yet is due to (a throttle, batch or debounce delays it). */
  due_at: Date | null;
};

export interface SkippedRun {
  function_id: string;
  event_id: string | null;
  rule: string;
  detail: string;
  skipped_at: Date;
}

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
    `SELECT ${RUN_COLUMNS}, e.name AS event_name, r.flow, r.concurrency_keys,
            (SELECT min(j.run_at) FROM ${s}.jobs j WHERE j.run_id = r.id AND j.kind = 'call' AND j.step_id IS NULL
               AND j.lease_token IS NULL AND r.started_at IS NULL) AS due_at,
            COALESCE((SELECT json_agg(json_build_object('step_id', st.step_id, 'name', st.name, 'op', st.op, 'status', st.status,
                'attempts', st.attempts, 'started_at', st.started_at, 'ended_at', st.ended_at) ORDER BY COALESCE(st.seq, 9e18), st.started_at)
              FROM ${s}.run_steps st WHERE st.run_id = r.id), '[]') AS steps
     FROM ${s}.runs r LEFT JOIN ${s}.functions f ON f.id = r.function_id LEFT JOIN ${s}.events e ON e.id = r.event_id
     ORDER BY r.created_at DESC LIMIT $1`,
    [limit],
  );
  return rows as RecentRun[];
}

export async function recentSkips(ctx: EngineContext, limit: number): Promise<SkippedRun[]> {
  const { rows } = await ctx.store.pool.query<SkippedRun>(
    `SELECT function_id, event_id, rule, detail, skipped_at FROM ${ctx.s}.skipped_runs ORDER BY skipped_at DESC LIMIT $1`,
    [limit],
  );
  return rows;
}
