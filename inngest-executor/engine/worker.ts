/**
 * The worker: a loop that leases due jobs within this process's capacity
 * (`workerConcurrency`), runs each, and sleeps until woken (NOTIFY, an
 * in-process signal) or until the next job is due.
 */
import { wake, type EngineContext } from "./context";
import { callApp } from "./call";
import { leaseDueJobs, releaseLeases } from "./leases";
import { runTimerJob } from "./timers";
import { delay, type InflightJob, type JobRow, type NextJob } from "./types";

export async function workerLoop(ctx: EngineContext): Promise<void> {
  while (!ctx.stopped) {
    const free = ctx.options.workerConcurrency - ctx.inflight.size - ctx.reserved;
    ctx.atCapacity = free <= 0;
    if (ctx.atCapacity) {
      // NOTE: clear the flag first, or a wake-up while at capacity would spin this loop without yielding.
      ctx.dirty = false;
      await waitForWake(ctx, 1000);
      continue;
    }
    ctx.dirty = false;
    let jobs: JobRow[] = [];
    try {
      jobs = await leaseDueJobs(ctx, Math.min(free, 50));
    } catch (err) {
      if (ctx.stopped) break;
      ctx.options.log(`lease failed: ${(err as Error).message}`);
      await delay(250);
      continue;
    }
    for (const job of jobs) track(ctx, runJob(ctx, { job }));
    if (jobs.length > 0) continue;
    if (ctx.dirty) continue;
    const next = await nextDueInMs(ctx).catch(() => 1000);
    await waitForWake(ctx, Math.min(next, 2000));
  }
}

export function track(ctx: EngineContext, promise: Promise<void>): void {
  ctx.running.add(promise);
  void promise.finally(() => {
    ctx.running.delete(promise);
    // A freed slot matters only to a loop waiting for one; new work signals itself (notify).
    if (ctx.atCapacity) wake(ctx);
  });
}

function waitForWake(ctx: EngineContext, ms: number): Promise<void> {
  if (ctx.dirty || ctx.stopped) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(
      () => {
        ctx.wakeWaiter = undefined;
        resolve();
      },
      Math.max(ms, 1),
    );
    ctx.wakeWaiter = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}

async function nextDueInMs(ctx: EngineContext): Promise<number> {
  const { rows } = await ctx.store.pool.query<{ ms: number | null }>(
    `SELECT EXTRACT(EPOCH FROM (min(run_at) - now())) * 1000 AS ms FROM ${ctx.s}.jobs WHERE lease_until IS NULL`,
  );
  const ms = rows[0]?.ms;
  return ms === null || ms === undefined ? 2000 : Math.max(0, Number(ms));
}

/** Runs a leased job, then any follow-up job the result handed straight back to this worker. */
export async function runJob(ctx: EngineContext, first: NextJob): Promise<void> {
  let next: NextJob | undefined = first;
  while (next && !ctx.stopped) {
    const current: JobRow = next.job;
    const entry: InflightJob = { job: current, mark: new Date(), abort: new AbortController() };
    ctx.inflight.set(current.id, entry);
    try {
      next =
        current.kind === "call"
          ? await callApp(ctx, { job: current, entry, known: next.context })
          : await runTimerJob(ctx, current);
    } catch (err) {
      next = undefined;
      if (!ctx.stopped) {
        ctx.options.log(
          `job ${current.id} (${current.kind}) of run ${current.run_id} errored: ${(err as Error).message}`,
        );
        await handBack(ctx, current);
      }
    } finally {
      ctx.inflight.delete(current.id);
    }
  }
}

/** The longest wait between attempts to hand a job back, while the database is away. */
const HAND_BACK_MAX_DELAY_MS = 2000;

/**
 * Hands a job whose processing errored back to the queue, retried: the error may have been a
 * dropped connection, and a lease kept by a live worker would only expire after callTimeoutMs.
 * NOTE: retried until it is done (or the engine stops), with backoff, not a fixed number of
 * times: a PostgreSQL restart can outlast any small budget, and the run must resume as soon as
 * the database is back. The slot stays taken meanwhile; nothing else could run without it.
 */
async function handBack(ctx: EngineContext, job: JobRow): Promise<void> {
  for (let attempt = 0; !ctx.stopped; attempt++) {
    const released = await releaseLeases(ctx, {
      jobs: [{ id: job.id, token: job.lease_token }],
      delayMs: 500,
    }).then(
      () => true,
      () => false,
    );
    if (released) break;
    if (attempt === 0) ctx.options.log(`job ${job.id}: handing it back waits for the database`);
    await delay(Math.min(200 * 2 ** attempt, HAND_BACK_MAX_DELAY_MS));
  }
  wake(ctx);
}
