/**
 * Jobs that fire at a time rather than call the app: a sleep that ends, a
 * wait or an invoke that times out, and a run's start and finish timeouts.
 */
import type { EngineContext } from "./context";
import { applyForJob, finishRun } from "./lifecycle";
import { memoize, memoizeEnded } from "./step-records";
import type { JobRow, NextJob } from "./types";

export function runTimerJob(ctx: EngineContext, job: JobRow): Promise<NextJob | undefined> {
  const { s } = ctx;
  switch (job.kind) {
    case "sleep":
      return applyForJob(ctx, job, async (tx, run) => {
        if (job.step_id) await memoizeEnded(ctx, tx, run.id, job.step_id);
        return {};
      });
    case "wait-timeout":
      return applyForJob(ctx, job, async (tx, run) => {
        if (!job.step_id) return {};
        const deleted = await tx.query(
          `DELETE FROM ${s}.waits WHERE run_id = $1 AND step_id = $2`,
          [run.id, job.step_id],
        );
        if (deleted.rowCount) await memoizeEnded(ctx, tx, run.id, job.step_id);
        return {};
      });
    case "invoke-timeout":
      return applyForJob(ctx, job, async (tx, run) => {
        if (!job.step_id) return {};
        await memoize(ctx, tx, {
          runId: run.id,
          stepId: job.step_id,
          state: {
            type: "error",
            error: {
              name: "InngestInvokeTimeoutError",
              message: "Timed out waiting for the invoked function to complete",
            },
          },
          ended: new Date(),
          status: "failed",
        });
        return {};
      });
    case "run-timeout":
      return applyForJob(ctx, job, async (tx, run) => {
        if (job.step_id === "start") {
          if (run.started_at) return {};
          // A run has started once its first call went out (it is in flight now,
          // or it was tried before), even if no step has been recorded yet.
          const { rows } = await tx.query(
            `SELECT 1 FROM ${s}.jobs WHERE run_id = $1 AND kind = 'call' AND step_id IS NULL
               AND (lease_token IS NOT NULL OR attempt > 0)`,
            [run.id],
          );
          if (rows.length > 0) return {};
        }
        await finishRun(ctx, tx, run, {
          status: "cancelled",
          error: {
            name: "InngestTimeoutError",
            message: `The run exceeded its ${job.step_id} timeout`,
          },
        });
        return {};
      });
    default:
      throw new Error(`unknown job kind ${String(job.kind)}`);
  }
}
