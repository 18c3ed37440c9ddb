/**
 * Leases: which worker holds which job, and every statement that takes,
 * reclaims or releases one. A worker proves it is alive by holding a session
 * advisory lock, so when a process dies (even kill -9) Postgres drops the lock
 * and its leases are reclaimed at once.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { wake, type EngineContext } from "./context";
import type { Tx } from "./store";
import type { JobRow } from "./types";

const LIVENESS_LOCK_CLASS = 72_707_371;

/** The columns a released job has: on the queue again, leased by nobody. */
export const RELEASED = "leased_by = NULL, lease_token = NULL, lease_until = NULL";

export function newLeaseToken(): string {
  return randomBytes(8).toString("hex");
}

/** How long a lease lasts: the longest call, and a margin. */
export function leaseSeconds(ctx: EngineContext): number {
  return ctx.options.callTimeoutMs / 1000 + 60;
}

/**
 * Gives leases back to the queue: every lease of this worker (at stop), or
 * the given jobs if they still carry the given tokens, due again after
 * `delayMs` when set.
 */
export async function releaseLeases(
  ctx: EngineContext,
  target: { worker: true } | { jobs: { id: string; token: string }[]; delayMs?: number },
): Promise<void> {
  if ("worker" in target) {
    await ctx.store.pool.query(`UPDATE ${ctx.s}.jobs SET ${RELEASED} WHERE leased_by = $1`, [
      ctx.workerId,
    ]);
    return;
  }
  const delayed =
    target.delayMs === undefined ? "" : `, run_at = now() + make_interval(secs => $3)`;
  await ctx.store.pool.query(
    `UPDATE ${ctx.s}.jobs SET ${RELEASED}${delayed}
     WHERE id = ANY($1::bigint[]) AND lease_token = ANY($2::text[])`,
    [
      target.jobs.map((job) => job.id),
      target.jobs.map((job) => job.token),
      ...(target.delayMs === undefined ? [] : [target.delayMs / 1000]),
    ],
  );
}

/** How old a lease of this worker must be before it counts as orphaned when nothing runs it. */
const ORPHAN_AFTER_SECONDS = 10;

/**
 * Leases whose worker has lost its liveness lock (or that outlived a call) go
 * back to the queue; not this worker's own, which it knows to be alive though
 * its lock is lost for a moment when the database restarts (its calls in
 * flight would run again). Its own leases that nothing in it runs do go back:
 * a lease whose commit reached the database while the answer was lost (a
 * connection cut mid-COMMIT, a PostgreSQL restart) would otherwise be held by
 * a live worker until it expired, half an hour later. Only leases older than
 * a few seconds: one just taken is not in flight until the lease query has
 * returned.
 */
export async function reclaimDeadLeases(ctx: EngineContext): Promise<void> {
  const { rowCount } = await ctx.store.pool.query(
    `UPDATE ${ctx.s}.jobs SET ${RELEASED}
     WHERE leased_by IS NOT NULL AND (lease_until < now() OR (leased_by <> $2 AND leased_by NOT IN (
       SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objsubid = 2 AND granted
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))))`,
    [LIVENESS_LOCK_CLASS, ctx.workerId],
  );
  const inflight = [...ctx.inflight.keys()];
  const { rowCount: orphaned } = await ctx.store.pool.query(
    `UPDATE ${ctx.s}.jobs SET ${RELEASED}
     WHERE leased_by = $1 AND NOT (id = ANY($2::bigint[]))
       AND lease_until < now() + make_interval(secs => $3)`,
    [ctx.workerId, inflight, leaseSeconds(ctx) - ORPHAN_AFTER_SECONDS],
  );
  if (rowCount) ctx.options.log(`reclaimed ${rowCount} job(s) from stopped executors`);
  if (orphaned) ctx.options.log(`released ${orphaned} job(s) leased here but not running`);
  if (rowCount || orphaned) wake(ctx);
}

/** Takes the liveness lock on a connection of its own, kept (and retaken) for the process's life. */
export async function holdLiveness(ctx: EngineContext): Promise<void> {
  ctx.livenessClient = await dedicatedConnection(ctx, "liveness", async (client) => {
    await client.query("SELECT pg_advisory_lock($1, $2)", [LIVENESS_LOCK_CLASS, ctx.workerId]);
    ctx.livenessClient = client;
  });
}

/**
 * A connection of its own (the liveness lock, LISTEN), reopened if it drops:
 * while the liveness lock is lost, other executors may take this one's
 * leases, and its stale results are then discarded by the lease check.
 */
export async function dedicatedConnection(
  ctx: EngineContext,
  label: string,
  setup: (client: pg.Client) => Promise<void>,
): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: ctx.options.databaseUrl,
    application_name: ctx.store.applicationName,
  });
  let ready = false;
  client.on("error", (err) => ctx.options.log(`${label} connection error: ${err.message}`));
  client.on("end", () => {
    if (!ready || ctx.stopped) return;
    ctx.options.log(`${label} connection closed; reconnecting`);
    const retry = () => {
      if (ctx.stopped) return;
      dedicatedConnection(ctx, label, setup).catch(() => setTimeout(retry, 1000));
    };
    setTimeout(retry, 250);
  });
  await client.connect();
  await setup(client);
  ready = true;
  return client;
}

/** Leases due jobs, honouring concurrency limits (counted over leased call jobs sharing a key). */
export async function leaseDueJobs(ctx: EngineContext, limit: number): Promise<JobRow[]> {
  return ctx.store.transaction(async (tx) => {
    // Keys already at their limit are skipped in SQL, so a backlog on one key cannot hide other keys' jobs.
    const { rows: busy } = await tx.query<{ key: string; n: string }>(
      `SELECT k AS key, count(*) AS n FROM ${ctx.s}.jobs, unnest(concurrency_keys) AS k
       WHERE lease_until IS NOT NULL AND kind = 'call' GROUP BY k`,
    );
    const saturated = busy
      .filter((row) => Number(row.n) >= concurrencyLimit(row.key))
      .map((row) => row.key);
    const { rows: candidates } = await tx.query<Omit<JobRow, "lease_token">>(
      `SELECT id, run_id, kind, step_id, attempt, network_failures, concurrency_keys FROM ${ctx.s}.jobs
       WHERE lease_until IS NULL AND run_at <= now() AND NOT (kind = 'call' AND concurrency_keys && $2::text[])
       ORDER BY run_at, id LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit * 4, saturated],
    );
    if (candidates.length === 0) return [];
    const active = await countActive(ctx, tx, candidates);
    const chosen: JobRow[] = [];
    for (const job of candidates) {
      if (chosen.length >= limit) break;
      if (
        job.kind === "call" &&
        job.concurrency_keys.some((key) => (active.get(key) ?? 0) >= concurrencyLimit(key))
      )
        continue;
      if (job.kind === "call")
        for (const key of job.concurrency_keys) active.set(key, (active.get(key) ?? 0) + 1);
      chosen.push({ ...job, lease_token: newLeaseToken() });
    }
    if (chosen.length > 0) {
      await tx.query(
        `UPDATE ${ctx.s}.jobs j SET leased_by = $1, lease_token = x.token, lease_until = now() + make_interval(secs => $2)
         FROM unnest($3::bigint[], $4::text[]) AS x(id, token) WHERE j.id = x.id`,
        [
          ctx.workerId,
          leaseSeconds(ctx),
          chosen.map((job) => job.id),
          chosen.map((job) => job.lease_token),
        ],
      );
    }
    return chosen;
  });
}

/** Leased call jobs per concurrency key of the candidates, counted under each key's advisory lock. */
async function countActive(
  ctx: EngineContext,
  tx: Tx,
  candidates: Omit<JobRow, "lease_token">[],
): Promise<Map<string, number>> {
  const keys = [
    ...new Set(
      candidates.filter((job) => job.kind === "call").flatMap((job) => job.concurrency_keys),
    ),
  ].sort();
  const active = new Map<string, number>();
  for (const key of keys) {
    await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [
      `${ctx.options.schema}:${key}`,
    ]);
    const { rows } = await tx.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${ctx.s}.jobs WHERE lease_until IS NOT NULL AND kind = 'call' AND $1 = ANY(concurrency_keys)`,
      [key],
    );
    active.set(key, Number(rows[0]?.n ?? 0));
  }
  return active;
}

/** A concurrency key is "<limit>|<scope>|<key expression>|<key value>". */
export function concurrencyLimit(key: string): number {
  return Number(key.split("|", 1)[0]);
}
