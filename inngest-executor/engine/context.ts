/**
 * The one object that carries the engine's state between its modules: the
 * options, the store, this worker's identity and its in-process bookkeeping
 * (jobs in flight, reserved slots, the wake-up signal, caches).
 */
import { createHash, randomInt } from "node:crypto";
import type pg from "pg";
import { Agent } from "undici";
import { Store, type Tx } from "./store";
import type { EngineOptions, InflightJob, SyncedFunction } from "./types";

const WAKE_CHANNEL_PREFIX = "inngest_executor_wake";

export interface EngineContext {
  readonly options: EngineOptions;
  readonly store: Store;
  /** The quoted schema name (the same as `store.s`). */
  readonly s: string;
  /** This process's id in leases and in its liveness lock. */
  readonly workerId: number;
  readonly wakeChannel: string;
  /** Keep-alive connections to the apps; a call may take as long as its step (up to callTimeoutMs). */
  readonly agent: Agent;
  readonly inflight: Map<string, InflightJob>;
  /** Jobs this worker runs now (their promises, awaited at stop). */
  readonly running: Set<Promise<void>>;
  stopped: boolean;
  /** Something may have changed since the loop last looked for work. */
  dirty: boolean;
  /** The loop is waiting for a job to finish because every slot is taken. */
  atCapacity: boolean;
  /** Slots promised to runs that open transactions will hand straight to this worker. */
  reserved: number;
  wakeWaiter: (() => void) | undefined;
  /** Synced functions, keyed by the apps' config hashes, so planning runs does not read them each time. */
  functionCache: { version: string; functions: SyncedFunction[] } | undefined;
  livenessClient: pg.Client | undefined;
  listenClient: pg.Client | undefined;
  /** The last refused sync of each app (by app id), shown on the runs page until it syncs. */
  readonly refusedSyncs: Map<string, { message: string; at: Date }>;
}

export function createContext(options: EngineOptions): EngineContext {
  const store = new Store(options.databaseUrl, options.schema, options.log);
  return {
    options,
    store,
    s: store.s,
    workerId: randomInt(1, 2 ** 31 - 1),
    // NOTE: channel names are limited to 63 bytes, so a long schema name is hashed.
    wakeChannel: `${WAKE_CHANNEL_PREFIX}_${createHash("sha256").update(options.schema).digest("hex").slice(0, 16)}`,
    agent: new Agent({
      headersTimeout: options.callTimeoutMs,
      bodyTimeout: options.callTimeoutMs,
      keepAliveTimeout: 10_000,
    }),
    inflight: new Map(),
    running: new Set(),
    stopped: false,
    dirty: true,
    atCapacity: false,
    reserved: 0,
    wakeWaiter: undefined,
    functionCache: undefined,
    livenessClient: undefined,
    listenClient: undefined,
    refusedSyncs: new Map(),
  };
}

/** Wakes this worker's loop: there may be work to lease. */
export function wake(ctx: EngineContext): void {
  ctx.dirty = true;
  const waiter = ctx.wakeWaiter;
  ctx.wakeWaiter = undefined;
  waiter?.();
}

/** Wakes every executor on the schema, this one included, when the transaction commits. */
export async function notify(ctx: EngineContext, tx: Tx): Promise<void> {
  await ctx.store.query(tx, "SELECT pg_notify($1, $2)", [ctx.wakeChannel, String(ctx.workerId)]);
  // NOTE: not before the commit: a lease tried earlier would not see the new work, and the loop
  // would then sleep until the next due job (up to 2 s).
  ctx.store.afterTransaction(tx, (committed) => {
    if (committed) wake(ctx);
  });
}
