/**
 * The executor's durable engine: events in, runs out. Every piece of state
 * (events, runs, memoized steps, queued jobs, waits, cancellations) lives in
 * Postgres, so any executor process can pick up any run after a crash.
 *
 * This class is a facade over the modules in `engine/`, which share one
 * context object: the store, leases, the worker loop, ingest, run creation,
 * calls to the app, opcode handlers, timers, the run lifecycle and the read API.
 */
import type pg from "pg";
import { checkpointAsync } from "./engine/call";
import { createContext, wake, type EngineContext } from "./engine/context";
import { startCronTimer } from "./engine/cron";
import { ingestEvents, registerApp } from "./engine/ingest";
import {
  dedicatedConnection,
  holdLiveness,
  reclaimDeadLeases,
  releaseLeases,
} from "./engine/leases";
import { cancelRunInTx } from "./engine/lifecycle";
import {
  getEvent,
  getRun,
  listRunsForEvent,
  recentRuns,
  recentSkips,
  type RecentRun,
  type SkippedRun,
} from "./engine/read-api";
import type { EngineOptions, RunSummaryRow } from "./engine/types";
import { workerLoop } from "./engine/worker";
import { migrateSchema } from "./schema";

export type { EngineOptions, RunStatus, RunSummaryRow, StepSummaryRow } from "./engine/types";
export type { RecentRun, SkippedRun } from "./engine/read-api";
export { SyncRefusedError } from "./engine/settings";

export class Engine {
  private readonly ctx: EngineContext;
  private loopPromise: Promise<void> | undefined;
  private reclaimTimer: NodeJS.Timeout | undefined;
  private stopCron: (() => Promise<void>) | undefined;

  constructor(options: EngineOptions) {
    this.ctx = createContext(options);
  }

  get pool(): pg.Pool {
    return this.ctx.store.pool;
  }

  async start(): Promise<void> {
    const { ctx } = this;
    await migrateSchema(ctx.store.pool, ctx.options.schema);
    await holdLiveness(ctx);
    ctx.listenClient = await dedicatedConnection(ctx, "listen", async (client) => {
      // Our own notifications were already signalled in-process (notify() wakes this worker).
      client.on("notification", (msg) => {
        if (msg.payload !== String(ctx.workerId)) wake(ctx);
      });
      await client.query(`LISTEN ${ctx.wakeChannel}`);
      ctx.listenClient = client;
      wake(ctx);
    });
    await reclaimDeadLeases(ctx);
    this.reclaimTimer = setInterval(() => {
      reclaimDeadLeases(ctx).catch((err: Error) =>
        ctx.options.log(`reclaim failed: ${err.message}`),
      );
    }, 1000);
    this.reclaimTimer.unref();
    this.loopPromise = workerLoop(ctx);
    this.stopCron = startCronTimer(ctx);
  }

  async stop(): Promise<void> {
    const { ctx } = this;
    ctx.stopped = true;
    if (this.reclaimTimer) clearInterval(this.reclaimTimer);
    wake(ctx);
    await this.stopCron?.();
    for (const entry of ctx.inflight.values()) entry.abort.abort();
    await this.loopPromise?.catch(() => undefined);
    await Promise.allSettled([...ctx.running]);
    await releaseLeases(ctx, { worker: true }).catch(() => undefined);
    await ctx.listenClient?.end().catch(() => undefined);
    await ctx.livenessClient?.end().catch(() => undefined);
    await ctx.store.pool.end().catch(() => undefined);
    await ctx.agent.close().catch(() => undefined);
  }

  registerApp(raw: unknown): Promise<{ appId: string; functions: number; modified: boolean }> {
    return registerApp(this.ctx, raw);
  }

  /** Stores events (deduplicated by id) and starts, resumes or cancels the runs they concern. */
  ingestEvents(raw: unknown[], idSeed?: string): Promise<string[]> {
    return ingestEvents(this.ctx, raw, idSeed);
  }

  checkpointAsync(runId: string, raw: unknown): Promise<"ok" | "stale"> {
    return checkpointAsync(this.ctx, runId, raw);
  }

  cancelRun(runId: string): Promise<boolean> {
    return this.ctx.store.transaction((tx) =>
      cancelRunInTx(this.ctx, tx, runId, "cancelled through the API"),
    );
  }

  getRun(runId: string): Promise<RunSummaryRow | undefined> {
    return getRun(this.ctx, runId);
  }

  listRunsForEvent(eventId: string): Promise<RunSummaryRow[]> {
    return listRunsForEvent(this.ctx, eventId);
  }

  getEvent(eventId: string) {
    return getEvent(this.ctx, eventId);
  }

  recentRuns(limit: number): Promise<RecentRun[]> {
    return recentRuns(this.ctx, limit);
  }

  recentSkips(limit: number): Promise<SkippedRun[]> {
    return recentSkips(this.ctx, limit);
  }

  /** Syncs this executor refused since it started, with the settings named (for the runs page). */
  refusedSyncs(): { app: string; message: string; at: Date }[] {
    return [...this.ctx.refusedSyncs].map(([app, refusal]) => ({ app, ...refusal }));
  }
}
