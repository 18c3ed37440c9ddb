/**
 * The executor's durable engine: events in, runs out. Every piece of state
 * (events, runs, memoized steps, queued jobs, waits, cancellations) lives in
 * Postgres, so any executor process can pick up any run after a crash.
 *
 * Jobs are leased with FOR UPDATE SKIP LOCKED. A lease names the worker that
 * holds it; a worker proves it is alive by holding a session advisory lock, so
 * when a process dies (even kill -9) Postgres drops the lock and its leases are
 * reclaimed at once by the survivors or by the next process to start. All
 * changes to one run happen under that run's row lock.
 */
import { createHash, randomBytes, randomInt } from "node:crypto";
import pg from "pg";
import { Agent, request } from "undici";
import { parseDurationMs, parseRetryAfter, resolveWakeTime } from "./durations";
import { evaluateKey, expressionMatches } from "./expressions";
import {
  checkpointBodySchema,
  eventPayloadSchema,
  functionConfigSchema,
  invokeOptsSchema,
  newUlid,
  opsResponseSchema,
  registerBodySchema,
  seededEventId,
  toSerializedError,
  waitOptsSchema,
  type EventPayload,
  type FunctionConfig,
  type Op,
  type RegisterBody,
  type SerializedError,
  type StoredEvent,
} from "./protocol";
import { migrateSchema, schemaIdent } from "./schema";

const LIVENESS_LOCK_CLASS = 72_707_371;
const WAKE_CHANNEL_PREFIX = "inngest_executor_wake";
const FAILED_EVENT = "inngest/function.failed";
const INVOKED_EVENT = "inngest/function.invoked";
const FINISHED_EVENT = "inngest/function.finished";
const CANCELLED_EVENT = "inngest/function.cancelled";
const DEFAULT_RETRIES = 3;
/** Ops that only report a step's result and queue no work. */
const RESULT_OPS = new Set(["Step", "StepRun", "StepFailed", "RunComplete"]);
const MAX_NETWORK_FAILURES = 300;

export interface EngineOptions {
  databaseUrl: string;
  schema: string;
  /** Base delay of the exponential retry backoff. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How many jobs one process runs at once. */
  workerConcurrency: number;
  callTimeoutMs: number;
  log: (line: string) => void;
}

type Tx = pg.PoolClient;

interface JobRow {
  id: string;
  run_id: string;
  kind: "call" | "sleep" | "wait-timeout" | "invoke-timeout" | "run-timeout";
  step_id: string | null;
  attempt: number;
  network_failures: number;
  concurrency_keys: string[];
  lease_token: string;
}

interface RunRow {
  id: string;
  function_id: string;
  event_id: string | null;
  events: StoredEvent[];
  status: RunStatus;
  max_attempts: number;
  disable_immediate: boolean;
  parent_run_id: string | null;
  parent_step_id: string | null;
  concurrency_keys: string[];
  created_at: Date;
  started_at: Date | null;
}

export type RunStatus = "running" | "completed" | "failed" | "cancelled";

type StepState = { type: "data"; data: unknown } | { type: "error"; error: SerializedError };

/** What applying a result to a run decided about the job that produced it. */
interface JobOutcome {
  /** Keep the job row and put it back on the queue (a retry), instead of deleting it. */
  reschedule?: { runAt: Date; attempt: number; networkFailures: number; stepId?: string | null };
  /** The result queued no new work (only step results): the run's next call reuses this job and its lease. */
  continueInline?: boolean;
  /** The result changed nothing (every op was already known): only other pending work can move the run on. */
  idle?: boolean;
}

interface InflightJob {
  job: JobRow;
  /** When the call was sent: the run's start, if it has none yet. */
  sent?: Date;
  /** When the last step result of this call was recorded: the next step's start. */
  mark: Date;
  abort: AbortController;
}

/** What a call to the app needs to know about its run: read from Postgres, or known already. */
interface CallContext {
  run: RunRow;
  url: string | null;
  steps: { step_id: string; state: StepState }[];
}

/** A job this worker holds and runs next, with its call context when that is known already. */
interface NextJob {
  job: JobRow;
  context?: CallContext;
}

/** A synced function as the engine plans runs of it. */
interface SyncedFunction {
  config: FunctionConfig;
  url: string;
}

export class Engine {
  readonly pool: pg.Pool;
  private readonly s: string;
  private readonly wakeChannel: string;
  private readonly workerId = randomInt(1, 2 ** 31 - 1);
  private livenessClient: pg.Client | undefined;
  private listenClient: pg.Client | undefined;
  private stopped = false;
  private dirty = true;
  private wakeWaiter: (() => void) | undefined;
  /** The loop is waiting for a job to finish because every slot is taken. */
  private atCapacity = false;
  private readonly inflight = new Map<string, InflightJob>();
  /** Slots promised to runs that open transactions will hand straight to this worker. */
  private reserved = 0;
  /** Callbacks to run when a transaction ends (committed or not). */
  private readonly txEndHooks = new WeakMap<Tx, ((committed: boolean) => void)[]>();
  /** Synced functions, keyed by the apps' config hashes, so planning runs does not read them each time. */
  private functionCache: { version: string; functions: SyncedFunction[] } | undefined;
  /** Prepared-statement names, so Postgres parses and plans the hot statements once per connection. */
  private readonly statementNames = new Map<string, string>();
  private readonly running = new Set<Promise<void>>();
  private loopPromise: Promise<void> | undefined;
  private reclaimTimer: NodeJS.Timeout | undefined;
  /** Keep-alive connections to the apps; a call may take as long as its step (up to callTimeoutMs). */
  private readonly agent: Agent;
  /** Names this executor's connections in pg_stat_activity. */
  private readonly applicationName: string;

  constructor(private readonly options: EngineOptions) {
    this.applicationName = `inngest-executor:${options.schema}`;
    this.pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: 12,
      application_name: this.applicationName,
    });
    this.pool.on("error", (err) => options.log(`db pool error: ${err.message}`));
    this.s = schemaIdent(options.schema);
    // NOTE: channel names are limited to 63 bytes, so a long schema name is hashed.
    this.wakeChannel = `${WAKE_CHANNEL_PREFIX}_${createHash("sha256").update(options.schema).digest("hex").slice(0, 16)}`;
    this.agent = new Agent({
      headersTimeout: options.callTimeoutMs,
      bodyTimeout: options.callTimeoutMs,
      keepAliveTimeout: 10_000,
    });
  }

  async start(): Promise<void> {
    await migrateSchema(this.pool, this.options.schema);
    this.livenessClient = await this.dedicatedConnection("liveness", async (client) => {
      await client.query("SELECT pg_advisory_lock($1, $2)", [LIVENESS_LOCK_CLASS, this.workerId]);
      this.livenessClient = client;
    });
    this.listenClient = await this.dedicatedConnection("listen", async (client) => {
      // Our own notifications were already signalled in-process (notify() wakes this worker).
      client.on("notification", (msg) => {
        if (msg.payload !== String(this.workerId)) this.wake();
      });
      await client.query(`LISTEN ${this.wakeChannel}`);
      this.listenClient = client;
      this.wake();
    });
    await this.reclaimDeadLeases();
    this.reclaimTimer = setInterval(() => {
      this.reclaimDeadLeases().catch((err: Error) =>
        this.options.log(`reclaim failed: ${err.message}`),
      );
    }, 1000);
    this.reclaimTimer.unref();
    this.loopPromise = this.loop();
  }

  /**
   * A connection of its own (the liveness lock, LISTEN), reopened if it drops:
   * while the liveness lock is lost, other executors may take this one's
   * leases, and its stale results are then discarded by the lease check.
   */
  private async dedicatedConnection(
    label: string,
    setup: (client: pg.Client) => Promise<void>,
  ): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.options.databaseUrl,
      application_name: this.applicationName,
    });
    let ready = false;
    client.on("error", (err) => this.options.log(`${label} connection error: ${err.message}`));
    client.on("end", () => {
      if (!ready || this.stopped) return;
      this.options.log(`${label} connection closed; reconnecting`);
      const retry = () => {
        if (this.stopped) return;
        this.dedicatedConnection(label, setup).catch(() => setTimeout(retry, 1000));
      };
      setTimeout(retry, 250);
    });
    await client.connect();
    await setup(client);
    ready = true;
    return client;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reclaimTimer) clearInterval(this.reclaimTimer);
    this.wake();
    for (const entry of this.inflight.values()) entry.abort.abort();
    await this.loopPromise?.catch(() => undefined);
    await Promise.allSettled([...this.running]);
    await this.pool
      .query(
        `UPDATE ${this.s}.jobs SET leased_by = NULL, lease_token = NULL, lease_until = NULL WHERE leased_by = $1`,
        [this.workerId],
      )
      .catch(() => undefined);
    await this.listenClient?.end().catch(() => undefined);
    await this.livenessClient?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
    await this.agent.close().catch(() => undefined);
  }

  // ---------------------------------------------------------------- sync

  async registerApp(
    raw: unknown,
  ): Promise<{ appId: string; functions: number; modified: boolean }> {
    const body: RegisterBody = registerBodySchema.parse(raw);
    const hash = createHash("sha256")
      .update(JSON.stringify([body.url, body.functions]))
      .digest("hex");
    const modified = await this.transaction(async (tx) => {
      const { rows } = await tx.query<{ config_hash: string | null }>(
        `SELECT config_hash FROM ${this.s}.apps WHERE id = $1 FOR UPDATE`,
        [body.appName],
      );
      if (rows[0]?.config_hash === hash) {
        await tx.query(`UPDATE ${this.s}.apps SET synced_at = now() WHERE id = $1`, [body.appName]);
        return false;
      }
      await tx.query(
        `INSERT INTO ${this.s}.apps (id, url, sdk, config_hash, synced_at) VALUES ($1, $2, $3, $4, now())
         ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, sdk = EXCLUDED.sdk, config_hash = EXCLUDED.config_hash, synced_at = now()`,
        [body.appName, body.url, body.sdk ?? null, hash],
      );
      const ids = body.functions.map((fn) => fn.id);
      await tx.query(
        `DELETE FROM ${this.s}.functions WHERE app_id = $1 AND NOT (id = ANY($2::text[]))`,
        [body.appName, ids],
      );
      for (const fn of body.functions) {
        const url = Object.values(fn.steps)[0]?.runtime.url;
        if (!url) continue;
        await tx.query(
          `INSERT INTO ${this.s}.functions (id, app_id, name, url, config, updated_at) VALUES ($1, $2, $3, $4, $5, now())
           ON CONFLICT (id) DO UPDATE SET app_id = EXCLUDED.app_id, name = EXCLUDED.name, url = EXCLUDED.url,
             config = EXCLUDED.config, updated_at = now()`,
          [fn.id, body.appName, fn.name ?? fn.id, url, JSON.stringify(fn)],
        );
      }
      return true;
    });
    if (modified) {
      this.functionCache = undefined;
      this.options.log(
        `synced app ${body.appName}: ${body.functions.length} function(s) at ${body.url}`,
      );
    }
    return { appId: body.appName, functions: body.functions.length, modified };
  }

  // ---------------------------------------------------------------- events

  /** Stores events (deduplicated by id) and starts, resumes or cancels the runs they concern. */
  async ingestEvents(raw: unknown[], idSeed?: string): Promise<string[]> {
    const payloads = raw.map((item) => eventPayloadSchema.parse(item));
    const now = Date.now();
    const events: StoredEvent[] = payloads.map((payload, index) =>
      toStoredEvent(payload, idSeed, index, now),
    );
    await this.transaction((tx) => this.ingestInTx(tx, events));
    return events.map((event) => event.id);
  }

  /**
   * Stores a batch of events and starts their runs with a fixed number of
   * statements, whatever the batch size; waits and cancellations are matched
   * per event, in order.
   */
  private async ingestInTx(tx: Tx, events: StoredEvent[]): Promise<void> {
    const unique = [...new Map(events.map((event) => [event.id, event])).values()];
    const names = [...new Set(unique.map((event) => event.name))];
    // One statement stores the events and says which were new, which functions are synced and who listens.
    const { rows } = await this.query<{
      inserted: string[];
      functions_version: string | null;
      waited: string[];
      cancelling: string[];
    }>(
      tx,
      `WITH inserted AS (
         INSERT INTO ${this.s}.events (id, name, payload)
         SELECT x.id, x.name, x.payload FROM jsonb_to_recordset($1::jsonb) AS x(id text, name text, payload jsonb)
         ON CONFLICT (id) DO NOTHING RETURNING id
       )
       SELECT ARRAY(SELECT id FROM inserted) AS inserted,
         (SELECT string_agg(id || ':' || COALESCE(config_hash, synced_at::text), ',' ORDER BY id) FROM ${this.s}.apps) AS functions_version,
         ARRAY(SELECT DISTINCT event_name FROM ${this.s}.waits WHERE event_name = ANY($2)) AS waited,
         ARRAY(SELECT DISTINCT event_name FROM ${this.s}.cancellations WHERE event_name = ANY($2)) AS cancelling`,
      [
        JSON.stringify(unique.map((event) => ({ id: event.id, name: event.name, payload: event }))),
        names,
      ],
    );
    const stored = rows[0];
    const insertedIds = new Set(stored?.inserted ?? []);
    const fresh = unique.filter((event) => insertedIds.has(event.id));
    if (!stored || fresh.length === 0) return;
    const functions = await this.syncedFunctions(tx, stored.functions_version);
    const planned: PlannedRun[] = [];
    for (const event of fresh) {
      for (const { config, url } of functions) {
        const triggered = config.triggers.some(
          (trigger) =>
            trigger.event !== undefined &&
            eventNameMatches(trigger.event, event.name) &&
            expressionMatches(trigger.expression, { event }),
        );
        if (triggered) planned.push({ config, url, events: [event] });
      }
    }
    let wake = (await this.createRuns(tx, planned)).queued;
    const waitedFor = new Set(stored.waited);
    const cancelledBy = new Set(stored.cancelling);
    for (const event of fresh) {
      if (waitedFor.has(event.name) && (await this.matchWaits(tx, event))) wake = true;
      if (cancelledBy.has(event.name)) await this.matchCancellations(tx, event);
    }
    if (wake) await this.notify(tx);
  }

  /** The synced functions; read again only when an app's config changed (its hash is in `version`). */
  private async syncedFunctions(tx: Tx, version: string | null): Promise<SyncedFunction[]> {
    const cached = this.functionCache;
    if (cached && version !== null && cached.version === version) return cached.functions;
    const { rows } = await tx.query<{ url: string; config: unknown }>(
      `SELECT url, config FROM ${this.s}.functions ORDER BY id`,
    );
    const functions = rows.flatMap((row) => {
      const parsed = functionConfigSchema.safeParse(row.config);
      return parsed.success ? [{ config: parsed.data, url: row.url }] : [];
    });
    if (version !== null) this.functionCache = { version, functions };
    return functions;
  }

  /**
   * Creates runs with their first jobs, in one statement. A run with no
   * concurrency key is handed straight to this worker when it has a free slot:
   * its first call is leased in the same transaction and sent as soon as that
   * commits, with no queue poll and no read in between. Returns the ids of the
   * runs an idempotency key did not suppress, and whether any job was left on
   * the queue (to wake the workers).
   */
  private async createRuns(
    tx: Tx,
    planned: PlannedRun[],
  ): Promise<{ created: string[]; queued: boolean }> {
    if (planned.length === 0) return { created: [], queued: false };
    const now = Date.now();
    const rows = planned.map(({ config, url, events, parent }) => {
      const vars = { event: events[0] };
      const concurrencyKeys = concurrencyKeysFor(config, vars);
      const direct =
        concurrencyKeys.length === 0 &&
        !this.stopped &&
        this.inflight.size + this.reserved < this.options.workerConcurrency;
      if (direct) this.reserved++;
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
        config,
        url,
        lease_token: direct ? randomBytes(8).toString("hex") : null,
      };
    });
    let reserved = rows.filter((row) => row.lease_token !== null).length;
    const release = (count: number) => {
      this.reserved -= count;
      reserved -= count;
    };
    const jobs: {
      run_id: string;
      kind: string;
      step_id: string | null;
      run_at: Date;
      concurrency_keys: string[];
      lease_token: string | null;
    }[] = [];
    const cancellations: {
      run_id: string;
      event_name: string;
      expression: string | null;
      expires_at: Date | null;
    }[] = [];
    for (const row of rows) {
      jobs.push({
        run_id: row.id,
        kind: "call",
        step_id: null,
        run_at: new Date(now),
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
    let result: { created: string[]; leased: { id: string; run_id: string }[]; queued: boolean };
    try {
      const { rows: out } = await this.query<{
        created: string[];
        leased: { id: string; run_id: string }[];
        queued: boolean;
      }>(
        tx,
        `WITH created AS (
           INSERT INTO ${this.s}.runs (id, function_id, event_id, events, status, idempotency_key, concurrency_keys, max_attempts, parent_run_id, parent_step_id)
           SELECT x.id, x.function_id, x.event_id, x.events, 'running', x.idempotency_key,
                  ARRAY(SELECT jsonb_array_elements_text(x.concurrency_keys)), x.max_attempts, x.parent_run_id, x.parent_step_id
           FROM jsonb_to_recordset($1::jsonb) AS x(id text, function_id text, event_id text, events jsonb, idempotency_key text,
                concurrency_keys jsonb, max_attempts int, parent_run_id text, parent_step_id text)
           ON CONFLICT DO NOTHING RETURNING id
         ), queued AS (
           INSERT INTO ${this.s}.jobs (run_id, kind, step_id, run_at, concurrency_keys, leased_by, lease_token, lease_until)
           SELECT x.run_id, x.kind, x.step_id, x.run_at, ARRAY(SELECT jsonb_array_elements_text(x.concurrency_keys)),
                  CASE WHEN x.lease_token IS NOT NULL THEN $4::bigint END, x.lease_token,
                  CASE WHEN x.lease_token IS NOT NULL THEN now() + make_interval(secs => $5) END
           FROM jsonb_to_recordset($2::jsonb) AS x(run_id text, kind text, step_id text, run_at timestamptz,
                concurrency_keys jsonb, lease_token text)
           WHERE x.run_id IN (SELECT id FROM created)
           RETURNING id, run_id, lease_token
         ), cancellations AS (
           INSERT INTO ${this.s}.cancellations (run_id, event_name, expression, expires_at)
           SELECT x.run_id, x.event_name, x.expression, x.expires_at
           FROM jsonb_to_recordset($3::jsonb) AS x(run_id text, event_name text, expression text, expires_at timestamptz)
           WHERE x.run_id IN (SELECT id FROM created)
         )
         SELECT ARRAY(SELECT id FROM created) AS created,
           COALESCE((SELECT json_agg(json_build_object('id', id::text, 'run_id', run_id)) FROM queued WHERE lease_token IS NOT NULL), '[]') AS leased,
           EXISTS (SELECT 1 FROM queued WHERE lease_token IS NULL) AS queued`,
        [
          JSON.stringify(
            rows.map(({ config: _config, url: _url, lease_token: _token, ...row }) => row),
          ),
          JSON.stringify(jobs),
          JSON.stringify(cancellations),
          this.workerId,
          this.options.callTimeoutMs / 1000 + 60,
        ],
      );
      result = out[0] ?? { created: [], leased: [], queued: false };
    } catch (err) {
      release(reserved);
      throw err;
    }
    // Runs an idempotency key suppressed need no slot.
    release(reserved - result.leased.length);
    const createdIds = new Set(result.created);
    for (const row of rows) {
      if (!createdIds.has(row.id)) {
        this.options.log(
          `run skipped: ${row.function_id} idempotency key ${JSON.stringify(row.idempotency_key)} already used`,
        );
        continue;
      }
      this.options.log(
        `run ${row.id} queued: ${row.function_id} for ${row.events[0]?.name} (${row.event_id})`,
      );
    }
    if (result.leased.length > 0) {
      const byRun = new Map(rows.map((row) => [row.id, row]));
      const handOff = result.leased.flatMap(({ id, run_id }) => {
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
          created_at: new Date(now),
          started_at: null,
        };
        return [{ job, context: { run, url: row.url, steps: [] } }];
      });
      const count = result.leased.length;
      this.afterTransaction(tx, (committed) => {
        release(count);
        if (committed && !this.stopped) {
          for (const next of handOff) this.track(this.runJob(next));
          return;
        }
        // Rolled back: nothing to hand back. But a COMMIT lost with its connection may have committed,
        // and this worker stays alive, so its leases would not be reclaimed: give them back to the queue.
        void this.pool
          .query(
            `UPDATE ${this.s}.jobs SET leased_by = NULL, lease_token = NULL, lease_until = NULL
             WHERE id = ANY($1::bigint[]) AND lease_token = ANY($2::text[])`,
            [handOff.map((next) => next.job.id), handOff.map((next) => next.job.lease_token)],
          )
          .then(
            () => this.wake(),
            () => undefined,
          );
      });
    }
    return { created: result.created, queued: result.queued };
  }

  private async matchWaits(tx: Tx, event: StoredEvent): Promise<boolean> {
    const { rows } = await tx.query<{
      run_id: string;
      step_id: string;
      expression: string | null;
      events: StoredEvent[];
    }>(
      `SELECT w.run_id, w.step_id, w.expression, r.events FROM ${this.s}.waits w JOIN ${this.s}.runs r ON r.id = w.run_id
       WHERE w.event_name = $1 AND r.status = 'running' ORDER BY w.run_id, w.created_at`,
      [event.name],
    );
    let resumed = false;
    for (const wait of rows) {
      if (!expressionMatches(wait.expression, { event: wait.events[0], async: event })) continue;
      const run = await this.lockRun(tx, wait.run_id);
      if (!run || run.status !== "running") continue;
      const deleted = await tx.query(
        `DELETE FROM ${this.s}.waits WHERE run_id = $1 AND step_id = $2`,
        [wait.run_id, wait.step_id],
      );
      if (deleted.rowCount === 0) continue;
      await tx.query(
        `DELETE FROM ${this.s}.jobs WHERE run_id = $1 AND kind = 'wait-timeout' AND step_id = $2`,
        [wait.run_id, wait.step_id],
      );
      await this.memoize(tx, run.id, wait.step_id, { type: "data", data: event }, {});
      this.options.log(
        `run ${run.id} wait ${wait.step_id} matched event ${event.name} (${event.id})`,
      );
      await this.ensureProgress(tx, run.id, undefined);
      resumed = true;
    }
    return resumed;
  }

  private async matchCancellations(tx: Tx, event: StoredEvent): Promise<void> {
    const { rows } = await tx.query<{
      run_id: string;
      expression: string | null;
      events: StoredEvent[];
    }>(
      `SELECT c.run_id, c.expression, r.events FROM ${this.s}.cancellations c JOIN ${this.s}.runs r ON r.id = c.run_id
       WHERE c.event_name = $1 AND r.status = 'running' AND (c.expires_at IS NULL OR c.expires_at > now()) ORDER BY c.run_id`,
      [event.name],
    );
    for (const cancel of rows) {
      if (!expressionMatches(cancel.expression, { event: cancel.events[0], async: event }))
        continue;
      await this.cancelRunInTx(tx, cancel.run_id, `cancelled by event ${event.name} (${event.id})`);
    }
  }

  // ---------------------------------------------------------------- runs API

  async cancelRun(runId: string): Promise<boolean> {
    return this.transaction((tx) => this.cancelRunInTx(tx, runId, "cancelled through the API"));
  }

  private async cancelRunInTx(tx: Tx, runId: string, reason: string): Promise<boolean> {
    const run = await this.lockRun(tx, runId);
    if (!run || run.status !== "running") return false;
    await this.finishRun(tx, run, "cancelled", { error: { name: "Cancelled", message: reason } });
    return true;
  }

  async getRun(runId: string) {
    const { rows } = await this.pool.query(
      `SELECT r.id, r.function_id, r.event_id, r.status, r.output, r.error, r.created_at, r.started_at, r.ended_at,
              f.app_id
       FROM ${this.s}.runs r LEFT JOIN ${this.s}.functions f ON f.id = r.function_id WHERE r.id = $1`,
      [runId],
    );
    return rows[0] as RunSummaryRow | undefined;
  }

  async listRunsForEvent(eventId: string): Promise<RunSummaryRow[]> {
    const { rows } = await this.pool.query(
      `SELECT r.id, r.function_id, r.event_id, r.status, r.output, r.error, r.created_at, r.started_at, r.ended_at, f.app_id
       FROM ${this.s}.runs r LEFT JOIN ${this.s}.functions f ON f.id = r.function_id WHERE r.event_id = $1 ORDER BY r.created_at`,
      [eventId],
    );
    return rows as RunSummaryRow[];
  }

  async getEvent(eventId: string): Promise<StoredEvent | undefined> {
    const { rows } = await this.pool.query<{ payload: StoredEvent }>(
      `SELECT payload FROM ${this.s}.events WHERE id = $1`,
      [eventId],
    );
    return rows[0]?.payload;
  }

  async recentRuns(
    limit: number,
  ): Promise<(RunSummaryRow & { event_name: string | null; steps: StepSummaryRow[] })[]> {
    const { rows } = await this.pool.query(
      `SELECT r.id, r.function_id, r.event_id, r.status, r.output, r.error, r.created_at, r.started_at, r.ended_at,
              f.app_id, e.name AS event_name,
              COALESCE((SELECT json_agg(json_build_object('step_id', s.step_id, 'name', s.name, 'op', s.op, 'status', s.status,
                  'attempts', s.attempts, 'started_at', s.started_at, 'ended_at', s.ended_at) ORDER BY COALESCE(s.seq, 9e18), s.started_at)
                FROM ${this.s}.run_steps s WHERE s.run_id = r.id), '[]') AS steps
       FROM ${this.s}.runs r LEFT JOIN ${this.s}.functions f ON f.id = r.function_id LEFT JOIN ${this.s}.events e ON e.id = r.event_id
       ORDER BY r.created_at DESC LIMIT $1`,
      [limit],
    );
    return rows as (RunSummaryRow & { event_name: string | null; steps: StepSummaryRow[] })[];
  }

  // ---------------------------------------------------------------- checkpoints

  /**
   * SDK v4 "async checkpointing": while a call is in flight the SDK posts each
   * step result here and runs on. Results are memoized at once, so a crash
   * mid-call loses none of them. 409 tells the SDK its dispatch is stale.
   */
  async checkpointAsync(runId: string, raw: unknown): Promise<"ok" | "stale"> {
    const body = checkpointBodySchema.parse(raw);
    const [jobId, token] = body.qi_id.split(":");
    const inflight = jobId ? this.inflight.get(jobId) : undefined;
    if (!jobId || !token) return "stale";
    const mark = inflight?.mark ?? new Date();
    if (body.steps.every((op) => op.op === "StepRun" || op.op === "Step")) {
      const recorded = await this.recordSteps(runId, jobId, token, body.steps, mark, {
        runStartedAt: inflight?.sent,
      });
      if (inflight) inflight.mark = new Date();
      return recorded ? "ok" : "stale";
    }
    return this.transaction(async (tx) => {
      const { rows } = await tx.query<RunRow & { job: JobRow | null }>(
        `SELECT r.*, (SELECT row_to_json(j) FROM ${this.s}.jobs j WHERE j.id = $2 AND j.lease_token = $3 AND j.run_id = r.id) AS job
         FROM ${this.s}.runs r WHERE r.id = $1 FOR UPDATE OF r`,
        [runId, jobId, token],
      );
      const run = rows[0];
      const job = run?.job;
      if (!run || !job || run.status !== "running") return "stale";
      await this.applyOps(tx, run, job, body.steps, mark, {});
      if (inflight) inflight.mark = new Date();
      return "ok";
    });
  }

  /**
   * Step results only (a checkpoint, or a call that ran one step), in one
   * round trip: record_steps locks the run, checks the lease, memoizes the
   * results and sets the run's start if it has none. With `nextCall` it also
   * returns what the run's next call needs, read after the lock. Returns null
   * when the lease is gone or the run has ended.
   */
  private async recordSteps(
    runId: string,
    jobId: string,
    token: string,
    ops: Op[],
    mark: Date,
    options: { resetJob?: boolean; runStartedAt?: Date; nextCall?: boolean } = {},
  ): Promise<{
    disable_immediate?: boolean;
    url?: string | null;
    steps?: { step_id: string; state: StepState }[];
  } | null> {
    const steps = ops.map((op) => ({
      step_id: op.id,
      name: op.displayName ?? op.name ?? op.id,
      op: op.op,
      state: { type: "data", data: op.data ?? null },
    }));
    const { rows } = await this.query<{
      recorded: {
        disable_immediate?: boolean;
        url?: string | null;
        steps?: { step_id: string; state: StepState }[];
      } | null;
    }>(
      this.pool,
      `SELECT ${this.s}.record_steps($1, $2, $3, $4::jsonb, $5, $6, $7, $8) AS recorded`,
      [
        runId,
        jobId,
        token,
        JSON.stringify(steps),
        mark,
        options.resetJob ?? false,
        options.runStartedAt ?? null,
        options.nextCall ?? false,
      ],
    );
    return rows[0]?.recorded ?? null;
  }

  // ---------------------------------------------------------------- worker

  private wake(): void {
    this.dirty = true;
    const waiter = this.wakeWaiter;
    this.wakeWaiter = undefined;
    waiter?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const free = this.options.workerConcurrency - this.inflight.size - this.reserved;
      this.atCapacity = free <= 0;
      if (this.atCapacity) {
        // NOTE: clear the flag first, or a wake-up while at capacity would spin this loop without yielding.
        this.dirty = false;
        await this.waitForWake(1000);
        continue;
      }
      this.dirty = false;
      let jobs: JobRow[] = [];
      try {
        jobs = await this.lease(Math.min(free, 50));
      } catch (err) {
        if (this.stopped) break;
        this.options.log(`lease failed: ${(err as Error).message}`);
        await delay(250);
        continue;
      }
      for (const job of jobs) this.track(this.runJob({ job }));
      if (jobs.length > 0) continue;
      if (this.dirty) continue;
      const next = await this.nextDueInMs().catch(() => 1000);
      await this.waitForWake(Math.min(next, 2000));
    }
  }

  private track(promise: Promise<void>): void {
    this.running.add(promise);
    void promise.finally(() => {
      this.running.delete(promise);
      // A freed slot matters only to a loop waiting for one; new work signals itself (notify).
      if (this.atCapacity) this.wake();
    });
  }

  private waitForWake(ms: number): Promise<void> {
    if (this.dirty || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          this.wakeWaiter = undefined;
          resolve();
        },
        Math.max(ms, 1),
      );
      this.wakeWaiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async nextDueInMs(): Promise<number> {
    const { rows } = await this.pool.query<{ ms: number | null }>(
      `SELECT EXTRACT(EPOCH FROM (min(run_at) - now())) * 1000 AS ms FROM ${this.s}.jobs WHERE lease_until IS NULL`,
    );
    const ms = rows[0]?.ms;
    return ms === null || ms === undefined ? 2000 : Math.max(0, Number(ms));
  }

  private async reclaimDeadLeases(): Promise<void> {
    const { rowCount } = await this.pool.query(
      `UPDATE ${this.s}.jobs SET leased_by = NULL, lease_token = NULL, lease_until = NULL
       WHERE leased_by IS NOT NULL AND (lease_until < now() OR leased_by NOT IN (
         SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objsubid = 2 AND granted
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())))`,
      [LIVENESS_LOCK_CLASS],
    );
    if (rowCount) {
      this.options.log(`reclaimed ${rowCount} job(s) from stopped executors`);
      this.wake();
    }
  }

  /** Leases due jobs, honouring concurrency limits (counted over leased call jobs sharing a key). */
  private async lease(limit: number): Promise<JobRow[]> {
    return this.transaction(async (tx) => {
      // Keys already at their limit are skipped in SQL, so a backlog on one key cannot hide other keys' jobs.
      const { rows: busy } = await tx.query<{ key: string; n: string }>(
        `SELECT k AS key, count(*) AS n FROM ${this.s}.jobs, unnest(concurrency_keys) AS k
         WHERE lease_until IS NOT NULL AND kind = 'call' GROUP BY k`,
      );
      const saturated = busy
        .filter((row) => Number(row.n) >= concurrencyLimit(row.key))
        .map((row) => row.key);
      const { rows: candidates } = await tx.query<Omit<JobRow, "lease_token">>(
        `SELECT id, run_id, kind, step_id, attempt, network_failures, concurrency_keys FROM ${this.s}.jobs
         WHERE lease_until IS NULL AND run_at <= now() AND NOT (kind = 'call' AND concurrency_keys && $2::text[])
         ORDER BY run_at, id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [limit * 4, saturated],
      );
      if (candidates.length === 0) return [];
      const keys = [
        ...new Set(
          candidates.filter((job) => job.kind === "call").flatMap((job) => job.concurrency_keys),
        ),
      ].sort();
      const active = new Map<string, number>();
      for (const key of keys) {
        await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [
          `${this.options.schema}:${key}`,
        ]);
        const { rows } = await tx.query<{ n: string }>(
          `SELECT count(*) AS n FROM ${this.s}.jobs WHERE lease_until IS NOT NULL AND kind = 'call' AND $1 = ANY(concurrency_keys)`,
          [key],
        );
        active.set(key, Number(rows[0]?.n ?? 0));
      }
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
        chosen.push({ ...job, lease_token: randomBytes(8).toString("hex") });
      }
      if (chosen.length > 0) {
        await tx.query(
          `UPDATE ${this.s}.jobs j SET leased_by = $1, lease_token = x.token, lease_until = now() + make_interval(secs => $2)
           FROM unnest($3::bigint[], $4::text[]) AS x(id, token) WHERE j.id = x.id`,
          [
            this.workerId,
            this.options.callTimeoutMs / 1000 + 60,
            chosen.map((job) => job.id),
            chosen.map((job) => job.lease_token),
          ],
        );
      }
      return chosen;
    });
  }

  /** Runs a leased job, then any follow-up job the result handed straight back to this worker. */
  private async runJob(first: NextJob): Promise<void> {
    let next: NextJob | undefined = first;
    while (next && !this.stopped) {
      const current: JobRow = next.job;
      const entry: InflightJob = { job: current, mark: new Date(), abort: new AbortController() };
      this.inflight.set(current.id, entry);
      try {
        next = await this.processJob(current, entry, next.context);
      } catch (err) {
        next = undefined;
        if (!this.stopped) {
          this.options.log(
            `job ${current.id} (${current.kind}) of run ${current.run_id} errored: ${(err as Error).message}`,
          );
          // Hand the job back (retried: the error may have been a dropped connection, and a lease
          // kept by a live worker would only expire after callTimeoutMs).
          for (let attempt = 0; attempt < 5; attempt++) {
            const released = await this.pool
              .query(
                `UPDATE ${this.s}.jobs SET leased_by = NULL, lease_token = NULL, lease_until = NULL, run_at = now() + interval '500 milliseconds'
                 WHERE id = $1 AND lease_token = $2`,
                [current.id, current.lease_token],
              )
              .then(
                () => true,
                () => false,
              );
            if (released || this.stopped) break;
            await delay(200 * (attempt + 1));
          }
          this.wake();
        }
      } finally {
        this.inflight.delete(current.id);
      }
    }
  }

  private async processJob(
    job: JobRow,
    entry: InflightJob,
    context: CallContext | undefined,
  ): Promise<NextJob | undefined> {
    switch (job.kind) {
      case "call":
        return this.callApp(job, entry, context);
      case "sleep":
        return this.applyForJob(job, async (tx, run) => {
          if (job.step_id) await this.memoizeEnded(tx, run.id, job.step_id);
          return {};
        });
      case "wait-timeout":
        return this.applyForJob(job, async (tx, run) => {
          if (!job.step_id) return {};
          const deleted = await tx.query(
            `DELETE FROM ${this.s}.waits WHERE run_id = $1 AND step_id = $2`,
            [run.id, job.step_id],
          );
          if (deleted.rowCount) await this.memoizeEnded(tx, run.id, job.step_id);
          return {};
        });
      case "invoke-timeout":
        return this.applyForJob(job, async (tx, run) => {
          if (!job.step_id) return {};
          await this.memoize(
            tx,
            run.id,
            job.step_id,
            {
              type: "error",
              error: {
                name: "InngestInvokeTimeoutError",
                message: "Timed out waiting for the invoked function to complete",
              },
            },
            { ended: new Date(), status: "failed" },
          );
          return {};
        });
      case "run-timeout":
        return this.applyForJob(job, async (tx, run) => {
          if (job.step_id === "start") {
            if (run.started_at) return {};
            // A run has started once its first call went out (it is in flight now,
            // or it was tried before), even if no step has been recorded yet.
            const { rows } = await tx.query(
              `SELECT 1 FROM ${this.s}.jobs WHERE run_id = $1 AND kind = 'call' AND step_id IS NULL
                 AND (lease_token IS NOT NULL OR attempt > 0)`,
              [run.id],
            );
            if (rows.length > 0) return {};
          }
          await this.finishRun(tx, run, "cancelled", {
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

  /** Reads what a call needs: the run, its function's URL and its memoized steps. */
  private async readCallContext(runId: string): Promise<CallContext | undefined> {
    const { rows } = await this.query<
      RunRow & { url: string | null; steps: { step_id: string; state: StepState }[] }
    >(
      this.pool,
      `SELECT r.*, f.url, COALESCE((SELECT json_agg(json_build_object('step_id', s.step_id, 'state', s.state) ORDER BY s.seq)
         FROM ${this.s}.run_steps s WHERE s.run_id = r.id AND s.state IS NOT NULL), '[]') AS steps
       FROM ${this.s}.runs r LEFT JOIN ${this.s}.functions f ON f.id = r.function_id WHERE r.id = $1`,
      [runId],
    );
    const row = rows[0];
    if (!row) return undefined;
    const { url, steps, ...run } = row;
    return { run, url, steps };
  }

  private async callApp(
    job: JobRow,
    entry: InflightJob,
    known: CallContext | undefined,
  ): Promise<NextJob | undefined> {
    const context = known ?? (await this.readCallContext(job.run_id));
    const run = context?.run;
    if (!context || !run || run.status !== "running")
      return this.applyForJob(job, async () => ({}));
    if (!context.url) {
      return this.applyForJob(job, async (tx, locked) => {
        await this.finishRun(tx, locked, "failed", {
          error: { name: "Error", message: `Function ${run.function_id} is not synced` },
        });
        return {};
      });
    }
    const stepRows = context.steps;
    const steps = Object.fromEntries(stepRows.map((row) => [row.step_id, row.state]));
    const stack = stepRows.map((row) => row.step_id);
    const url = new URL(context.url);
    url.searchParams.set("stepId", job.step_id ?? "step");
    const body = {
      event: run.events[0],
      events: run.events,
      steps,
      ctx: {
        run_id: run.id,
        fn_id: run.function_id,
        attempt: job.attempt,
        max_attempts: run.max_attempts,
        disable_immediate_execution: run.disable_immediate,
        use_api: false,
        qi_id: `${job.id}:${job.lease_token}`,
        stack: { stack, current: Math.max(stack.length - 1, 0) },
      },
    };
    const started = new Date();
    entry.mark = started;
    entry.sent = started;
    let response: { status: number; headers: Headers; text: string } | undefined;
    let networkError: string | undefined;
    try {
      const res = await request(url, {
        method: "POST",
        headers: { "content-type": "application/json", "x-inngest-server-kind": "dev" },
        body: JSON.stringify(body),
        dispatcher: this.agent,
        signal: entry.abort.signal,
      });
      const headers = new Headers();
      for (const [name, value] of Object.entries(res.headers)) {
        if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
      }
      response = { status: res.statusCode, headers, text: await res.body.text() };
    } catch (err) {
      networkError = (err as Error).message;
    }
    if (this.stopped) return undefined;
    if (response?.status === 206 && job.step_id === null) {
      const ops = opsResponseSchema.safeParse(parseJson(response.text));
      if (
        ops.success &&
        ops.data.length > 0 &&
        ops.data.every((op) => op.op === "StepRun" || op.op === "Step")
      ) {
        // The classic protocol's common case: a discovery call ran one step. Record it and call again on
        // the same lease, with what the next call needs read in the same round trip.
        const recorded = await this.recordSteps(
          run.id,
          job.id,
          job.lease_token,
          ops.data,
          started,
          {
            resetJob: true,
            runStartedAt: started,
            nextCall: true,
          },
        );
        if (recorded) {
          return {
            job: { ...job, attempt: 0, network_failures: 0 },
            context: {
              run: {
                ...run,
                disable_immediate: recorded.disable_immediate ?? run.disable_immediate,
                started_at: run.started_at ?? started,
              },
              url: recorded.url ?? null,
              steps: recorded.steps ?? [],
            },
          };
        }
      }
    }
    return this.applyForJob(job, async (tx, locked) => {
      if (!locked.started_at)
        await tx.query(`UPDATE ${this.s}.runs SET started_at = $2 WHERE id = $1`, [
          locked.id,
          started,
        ]);
      if (!response) {
        if (job.network_failures + 1 >= MAX_NETWORK_FAILURES) {
          await this.finishRun(tx, locked, "failed", {
            error: { name: "Error", message: `App unreachable: ${networkError}` },
          });
          return {};
        }
        const wait = Math.min(100 * 2 ** Math.min(job.network_failures, 6), 5000);
        this.options.log(`run ${locked.id} call failed (${networkError}); retrying in ${wait}ms`);
        return {
          reschedule: {
            runAt: new Date(Date.now() + wait),
            attempt: job.attempt,
            networkFailures: job.network_failures + 1,
          },
        };
      }
      return this.handleResponse(tx, locked, job, response, entry);
    });
  }

  private async handleResponse(
    tx: Tx,
    run: RunRow,
    job: JobRow,
    response: { status: number; headers: Headers; text: string },
    entry: InflightJob,
  ): Promise<JobOutcome> {
    const parsed = parseJson(response.text);
    if (response.status === 200) {
      await this.finishRun(tx, run, "completed", { output: parsed });
      return {};
    }
    if (response.status === 206) {
      const ops = opsResponseSchema.safeParse(parsed);
      if (!ops.success) {
        return this.functionError(
          tx,
          run,
          job,
          { name: "Error", message: `Invalid ops from SDK: ${ops.error.message}` },
          response.headers,
        );
      }
      return this.applyOps(tx, run, job, ops.data, entry.mark, {
        retryAfter: response.headers.get("retry-after"),
      });
    }
    const error = toSerializedError(parsed, `Function call failed with HTTP ${response.status}`);
    return this.functionError(tx, run, job, error, response.headers);
  }

  private async functionError(
    tx: Tx,
    run: RunRow,
    job: JobRow,
    error: SerializedError,
    headers: Headers,
  ): Promise<JobOutcome> {
    const noRetry = headers.get("x-inngest-no-retry") === "true";
    if (noRetry || job.attempt + 1 >= run.max_attempts) {
      await this.finishRun(tx, run, "failed", { error });
      return {};
    }
    const wait = parseRetryAfter(headers.get("retry-after")) ?? this.backoff(job.attempt);
    this.options.log(
      `run ${run.id} attempt ${job.attempt + 1} failed (${error.message}); retrying in ${Math.round(wait)}ms`,
    );
    return {
      reschedule: {
        runAt: new Date(Date.now() + wait),
        attempt: job.attempt + 1,
        networkFailures: 0,
      },
    };
  }

  private backoff(attempt: number): number {
    const base = Math.min(this.options.retryBaseMs * 2 ** attempt, this.options.retryMaxMs);
    return base * (0.75 + Math.random() * 0.5);
  }

  /** Applies the ops an SDK reported (from a call's 206 response or from a checkpoint). */
  private async applyOps(
    tx: Tx,
    run: RunRow,
    job: JobRow,
    ops: Op[],
    mark: Date,
    context: { retryAfter?: string | null },
  ): Promise<JobOutcome> {
    // Results are memoized idempotently; only ops that start work must skip steps already done.
    const onlyResults = ops.every((op) => RESULT_OPS.has(op.op));
    const { rows: known } = onlyResults
      ? { rows: [] }
      : await tx.query<{ step_id: string; state: StepState | null }>(
          `SELECT step_id, state FROM ${this.s}.run_steps WHERE run_id = $1 AND step_id = ANY($2::text[])`,
          [run.id, ops.map((op) => op.id)],
        );
    const memoized = new Set(known.filter((row) => row.state !== null).map((row) => row.step_id));
    const fresh = ops.filter((op) => !memoized.has(op.id));
    if (fresh.filter((op) => op.op === "StepPlanned").length > 1 && !run.disable_immediate) {
      await tx.query(`UPDATE ${this.s}.runs SET disable_immediate = true WHERE id = $1`, [run.id]);
      run.disable_immediate = true;
    }
    let outcome: JobOutcome = {
      continueInline:
        job.kind === "call" && job.step_id === null && fresh.every((op) => RESULT_OPS.has(op.op)),
    };
    const now = new Date();
    let progressed = fresh.some((op) => op.op !== "StepPlanned" && op.op !== "DiscoveryRequest");
    for (const op of fresh) {
      const name = op.displayName ?? op.name ?? op.id;
      switch (op.op) {
        case "Step":
        case "StepRun":
          await this.memoize(
            tx,
            run.id,
            op.id,
            { type: "data", data: op.data ?? null },
            { name, op: op.op, started: mark, ended: now, attempt: job.attempt },
          );
          break;
        case "StepFailed":
          await this.memoize(
            tx,
            run.id,
            op.id,
            { type: "error", error: toSerializedError(op.error, "Step failed") },
            { name, op: op.op, started: mark, ended: now, status: "failed", attempt: job.attempt },
          );
          break;
        case "StepError": {
          const error = toSerializedError(op.error, "Step errored");
          const wait = parseRetryAfter(context.retryAfter) ?? this.backoff(job.attempt);
          await tx.query(
            `INSERT INTO ${this.s}.run_steps (run_id, step_id, name, op, status, error, attempts, started_at)
             VALUES ($1, $2, $3, 'StepRun', 'retrying', $4, $5, $6)
             ON CONFLICT (run_id, step_id) DO UPDATE SET status = 'retrying', error = EXCLUDED.error, attempts = EXCLUDED.attempts
             WHERE ${this.s}.run_steps.state IS NULL`,
            [run.id, op.id, name, JSON.stringify(error), job.attempt + 1, mark],
          );
          this.options.log(
            `run ${run.id} step ${name} attempt ${job.attempt + 1} failed (${error.message}); retrying in ${Math.round(wait)}ms`,
          );
          const runAt = new Date(Date.now() + wait);
          if (job.step_id === op.id) {
            outcome = { reschedule: { runAt, attempt: job.attempt + 1, networkFailures: 0 } };
          } else if (job.step_id === null) {
            // The discovery call ran the step itself; the retry is a call targeted at that step.
            outcome = {
              reschedule: { runAt, attempt: job.attempt + 1, networkFailures: 0, stepId: op.id },
            };
          } else {
            await this.insertJob(tx, run, "call", op.id, runAt, job.attempt + 1);
          }
          break;
        }
        case "StepPlanned":
          if (op.id === job.step_id) break;
          if (await this.insertJob(tx, run, "call", op.id, now, 0)) progressed = true;
          await this.markWaiting(
            tx,
            run.id,
            op.id,
            name,
            "StepRun",
            "queued",
            typeof op.opts?.parallelMode === "string" ? op.opts.parallelMode : null,
          );
          break;
        case "Sleep": {
          const wakeAt = resolveWakeTime(op.name ?? "0s");
          await this.markWaiting(tx, run.id, op.id, name, "Sleep", "waiting");
          await this.insertJob(tx, run, "sleep", op.id, wakeAt, 0);
          break;
        }
        case "WaitForEvent": {
          const opts = waitOptsSchema.parse(op.opts ?? {});
          const timeout = parseDurationMs(opts.timeout) ?? 0;
          await this.markWaiting(
            tx,
            run.id,
            op.id,
            op.displayName ?? op.id,
            "WaitForEvent",
            "waiting",
          );
          await tx.query(
            `INSERT INTO ${this.s}.waits (run_id, step_id, event_name, expression) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
            [run.id, op.id, op.name ?? "", opts.if ?? null],
          );
          await this.insertJob(tx, run, "wait-timeout", op.id, new Date(Date.now() + timeout), 0);
          break;
        }
        case "InvokeFunction":
          await this.invoke(tx, run, op, name);
          break;
        case "RunComplete":
          await this.finishRun(tx, run, "completed", { output: op.data ?? null });
          return {};
        case "DiscoveryRequest":
          break;
        default:
          await this.memoize(
            tx,
            run.id,
            op.id,
            {
              type: "error",
              error: { name: "Error", message: `The embedded executor does not support ${op.op}` },
            },
            { name, op: op.op, started: mark, ended: now, status: "failed" },
          );
      }
    }
    return outcome.reschedule ? outcome : { ...outcome, idle: !progressed };
  }

  private async invoke(tx: Tx, run: RunRow, op: Op, name: string): Promise<void> {
    const opts = invokeOptsSchema.parse(op.opts ?? {});
    // An invoke already under way (its step is recorded) must not start a second child.
    if (!(await this.markWaiting(tx, run.id, op.id, name, "InvokeFunction", "waiting"))) return;
    const { rows } = await tx.query<{ config: FunctionConfig; url: string }>(
      `SELECT config, url FROM ${this.s}.functions WHERE id = $1`,
      [opts.function_id],
    );
    const config = rows[0] ? functionConfigSchema.safeParse(rows[0].config) : undefined;
    if (!config?.success) {
      await this.memoize(
        tx,
        run.id,
        op.id,
        {
          type: "error",
          error: { name: "Error", message: `Function ${opts.function_id} is not synced` },
        },
        { ended: new Date(), status: "failed" },
      );
      return;
    }
    const event: StoredEvent = {
      id: newUlid(),
      name: INVOKED_EVENT,
      data: {
        ...(opts.payload?.data ?? {}),
        _inngest: { source_run_id: run.id, source_fn_id: run.function_id },
      },
      ts: Date.now(),
    };
    await tx.query(`INSERT INTO ${this.s}.events (id, name, payload) VALUES ($1, $2, $3)`, [
      event.id,
      event.name,
      JSON.stringify(event),
    ]);
    const {
      created: [childId],
      queued,
    } = await this.createRuns(tx, [
      {
        config: config.data,
        url: rows[0]?.url ?? "",
        events: [event],
        parent: { runId: run.id, stepId: op.id },
      },
    ]);
    if (!childId) {
      await this.memoizeEnded(tx, run.id, op.id);
      return;
    }
    const timeout = opts.timeout ? parseDurationMs(opts.timeout) : undefined;
    if (timeout !== undefined)
      await this.insertJob(tx, run, "invoke-timeout", op.id, new Date(Date.now() + timeout), 0);
    if (queued) await this.notify(tx);
  }

  private async insertJob(
    tx: Tx,
    run: RunRow,
    kind: JobRow["kind"],
    stepId: string | null,
    runAt: Date,
    attempt: number,
  ): Promise<boolean> {
    const { rowCount } = await tx.query(
      `INSERT INTO ${this.s}.jobs (run_id, kind, step_id, run_at, attempt, concurrency_keys) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
      [run.id, kind, stepId, runAt, attempt, kind === "call" ? run.concurrency_keys : []],
    );
    if (!rowCount) return false;
    await this.notify(tx);
    return true;
  }

  private async markWaiting(
    tx: Tx,
    runId: string,
    stepId: string,
    name: string,
    op: string,
    status: string,
    parallelMode: string | null = null,
  ): Promise<boolean> {
    const { rowCount } = await tx.query(
      `INSERT INTO ${this.s}.run_steps (run_id, step_id, name, op, status, started_at, parallel_mode) VALUES ($1, $2, $3, $4, $5, now(), $6)
       ON CONFLICT (run_id, step_id) DO NOTHING`,
      [runId, stepId, name, op, status, parallelMode],
    );
    return (rowCount ?? 0) > 0;
  }

  /** A step that ends with no data (a sleep, a wait that timed out, an invoke with no target). */
  private memoizeEnded(tx: Tx, runId: string, stepId: string): Promise<void> {
    return this.memoize(tx, runId, stepId, { type: "data", data: null }, { ended: new Date() });
  }

  /** Records a step's result once: a memoized result is never overwritten. */
  private async memoize(
    tx: Tx,
    runId: string,
    stepId: string,
    state: StepState,
    meta: {
      name?: string;
      op?: string;
      started?: Date;
      ended?: Date;
      status?: string;
      attempt?: number;
    },
  ): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.s}.run_steps (run_id, step_id, name, op, status, state, error, attempts, seq, started_at, ended_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, nextval('${this.s}.step_seq'), $9, $10)
       ON CONFLICT (run_id, step_id) DO UPDATE SET state = EXCLUDED.state, status = EXCLUDED.status, error = EXCLUDED.error,
         seq = EXCLUDED.seq, ended_at = EXCLUDED.ended_at, attempts = GREATEST(${this.s}.run_steps.attempts, EXCLUDED.attempts),
         started_at = COALESCE(${this.s}.run_steps.started_at, EXCLUDED.started_at)
       WHERE ${this.s}.run_steps.state IS NULL`,
      [
        runId,
        stepId,
        meta.name ?? null,
        meta.op ?? "StepRun",
        meta.status ?? (state.type === "error" ? "failed" : "completed"),
        JSON.stringify(state),
        state.type === "error" ? JSON.stringify(state.error) : null,
        (meta.attempt ?? 0) + 1,
        meta.started ?? meta.ended ?? null,
        meta.ended ?? null,
      ],
    );
  }

  /**
   * A running run always has something pending: a job, a wait or an invoked
   * child. When nothing is left, the function is called again to find its
   * next step. Returns the new job when it is leased to this worker.
   */
  private async ensureProgress(
    tx: Tx,
    runId: string,
    excludeJobId: string | undefined,
    leaseTo?: string,
    knownKeys?: string[],
    force = false,
    excludeRaceLosers = true,
  ): Promise<JobRow | undefined> {
    const { rows } = force
      ? { rows: [{ n: "0" }] }
      : await tx.query<{ n: string }>(
          // A race's losing branches do not hold the run back. Branches planned together share started_at
          // (the planning transaction's now()), which identifies the race.
          `SELECT (SELECT count(*) FROM ${this.s}.jobs j WHERE j.run_id = $1 AND j.kind <> 'run-timeout' AND j.id::text <> COALESCE($2, '')
                 AND NOT ($3 AND EXISTS (
                   SELECT 1 FROM ${this.s}.run_steps me JOIN ${this.s}.run_steps winner
                     ON winner.run_id = me.run_id AND winner.started_at = me.started_at AND winner.parallel_mode = 'race' AND winner.state IS NOT NULL
                   WHERE j.kind = 'call' AND me.run_id = j.run_id AND me.step_id = j.step_id AND me.parallel_mode = 'race'))) +
              (SELECT count(*) FROM ${this.s}.run_steps WHERE run_id = $1 AND status = 'waiting') AS n`,
          [runId, excludeJobId ?? null, excludeRaceLosers],
        );
    if (Number(rows[0]?.n ?? 0) > 0) return undefined;
    const keys =
      knownKeys ??
      (
        await tx.query<{ concurrency_keys: string[] }>(
          `SELECT concurrency_keys FROM ${this.s}.runs WHERE id = $1`,
          [runId],
        )
      ).rows[0]?.concurrency_keys ??
      [];
    if (leaseTo) {
      const { rows: inserted } = await tx.query<Omit<JobRow, "lease_token">>(
        `INSERT INTO ${this.s}.jobs (run_id, kind, concurrency_keys, leased_by, lease_token, lease_until)
         VALUES ($1, 'call', $2, $3, $4, now() + make_interval(secs => $5)) ON CONFLICT DO NOTHING
         RETURNING id, run_id, kind, step_id, attempt, network_failures, concurrency_keys`,
        [runId, keys, this.workerId, leaseTo, this.options.callTimeoutMs / 1000 + 60],
      );
      return inserted[0] ? { ...inserted[0], lease_token: leaseTo } : undefined;
    }
    await tx.query(
      `INSERT INTO ${this.s}.jobs (run_id, kind, concurrency_keys) VALUES ($1, 'call', $2) ON CONFLICT DO NOTHING`,
      [runId, keys],
    );
    await this.notify(tx);
    return undefined;
  }

  /**
   * Applies a job's result under the run's row lock, if the job is still
   * leased by this worker; then retires or requeues the job and, if the run has
   * nothing pending, queues its next call (handed straight back to this worker).
   */
  private async applyForJob(
    job: JobRow,
    apply: (tx: Tx, run: RunRow) => Promise<JobOutcome>,
  ): Promise<NextJob | undefined> {
    const next = await this.transaction(async (tx) => {
      const { rows } = await this.query<RunRow & { job_held: boolean }>(
        tx,
        `SELECT r.*, EXISTS (SELECT 1 FROM ${this.s}.jobs j WHERE j.id = $2 AND j.lease_token = $3) AS job_held
         FROM ${this.s}.runs r WHERE r.id = $1 FOR UPDATE OF r`,
        [job.run_id, job.id, job.lease_token],
      );
      const run = rows[0];
      if (!run?.job_held) return undefined;
      if (run.status !== "running") {
        await tx.query(`DELETE FROM ${this.s}.jobs WHERE id = $1`, [job.id]);
        return undefined;
      }
      const outcome = await apply(tx, run);
      if (run.status !== "running") return undefined;
      if (outcome.reschedule) {
        const { runAt, attempt, networkFailures, stepId } = outcome.reschedule;
        await tx.query(
          `UPDATE ${this.s}.jobs SET run_at = $2, attempt = $3, network_failures = $4, step_id = COALESCE($5, step_id),
             leased_by = NULL, lease_token = NULL, lease_until = NULL WHERE id = $1`,
          [job.id, runAt, attempt, networkFailures, stepId ?? null],
        );
        await this.notify(tx);
        return undefined;
      }
      if (outcome.continueInline) {
        await tx.query(
          `UPDATE ${this.s}.jobs SET attempt = 0, network_failures = 0 WHERE id = $1`,
          [job.id],
        );
        return { ...job, attempt: 0, network_failures: 0 };
      }
      await tx.query(`DELETE FROM ${this.s}.jobs WHERE id = $1`, [job.id]);
      if (job.concurrency_keys.length > 0) await this.notify(tx);
      // The first branch of a race to finish resumes the run at once; the others finish on their own.
      const race =
        job.kind === "call" &&
        job.step_id !== null &&
        (
          await tx.query<{ parallel_mode: string | null }>(
            `SELECT parallel_mode FROM ${this.s}.run_steps WHERE run_id = $1 AND step_id = $2`,
            [run.id, job.step_id],
          )
        ).rows[0]?.parallel_mode === "race";
      // After a call that changed nothing, a race's losing branches count as pending again: calling
      // the function once more would only report them again (the SDK finishes a run only when every
      // branch has), so the run waits for them instead of spinning.
      return this.ensureProgress(
        tx,
        run.id,
        job.id,
        randomBytes(8).toString("hex"),
        run.concurrency_keys,
        race,
        !outcome.idle,
      );
    });
    return next ? { job: next } : undefined;
  }

  private async finishRun(
    tx: Tx,
    run: RunRow,
    status: Exclude<RunStatus, "running">,
    result: { output?: unknown; error?: SerializedError },
  ): Promise<void> {
    run.status = status;
    // One statement ends the run and clears everything pending for it.
    await this.query(
      tx,
      `WITH ended AS (
         UPDATE ${this.s}.runs SET status = $2, output = $3, error = $4, ended_at = now() WHERE id = $1
       ), jobs AS (
         DELETE FROM ${this.s}.jobs WHERE run_id = $1
       ), waits AS (
         DELETE FROM ${this.s}.waits WHERE run_id = $1
       ), cancellations AS (
         DELETE FROM ${this.s}.cancellations WHERE run_id = $1
       )
       UPDATE ${this.s}.run_steps SET status = 'cancelled' WHERE run_id = $1 AND status IN ('waiting', 'queued', 'retrying')`,
      [
        run.id,
        status,
        result.output === undefined ? null : JSON.stringify(result.output),
        result.error ? JSON.stringify(result.error) : null,
      ],
    );
    const took = run.created_at ? `${Date.now() - new Date(run.created_at).getTime()}ms` : "";
    this.options.log(
      `run ${run.id} ${status}: ${run.function_id}${result.error ? ` (${result.error.message})` : ""} after ${took}`,
    );
    // Its concurrency slots are free now: wake the workers that may be holding back a job for them.
    if (run.concurrency_keys.length > 0) await this.notify(tx);
    if (run.parent_run_id && run.parent_step_id) await this.resumeParent(tx, run, status, result);
    // Lifecycle events, as Inngest emits them; functions (onFailure among them) can be triggered by them.
    const original = run.events[0];
    const base = {
      function_id: run.function_id,
      run_id: run.id,
      event: original,
      events: run.events,
    };
    const lifecycle: StoredEvent[] = [];
    const emit = (name: string, data: Record<string, unknown>) =>
      lifecycle.push({ id: newUlid(), name, data, ts: Date.now() });
    if (status === "failed" && original?.name !== FAILED_EVENT)
      emit(FAILED_EVENT, { ...base, error: result.error });
    if (status === "cancelled" && original?.name !== CANCELLED_EVENT)
      emit(CANCELLED_EVENT, { ...base, error: result.error });
    if (original?.name !== FINISHED_EVENT) {
      emit(
        FINISHED_EVENT,
        status === "completed"
          ? { ...base, result: result.output ?? null }
          : { ...base, error: result.error ?? null },
      );
    }
    if (lifecycle.length > 0) await this.ingestInTx(tx, lifecycle);
  }

  private async resumeParent(
    tx: Tx,
    child: RunRow,
    status: RunStatus,
    result: { output?: unknown; error?: SerializedError },
  ): Promise<void> {
    if (!child.parent_run_id || !child.parent_step_id) return;
    const parent = await this.lockRun(tx, child.parent_run_id);
    if (!parent || parent.status !== "running") return;
    const state: StepState =
      status === "completed"
        ? { type: "data", data: result.output ?? null }
        : {
            type: "error",
            error: result.error ?? { name: "Error", message: `Invoked function ${status}` },
          };
    await tx.query(
      `DELETE FROM ${this.s}.jobs WHERE run_id = $1 AND kind = 'invoke-timeout' AND step_id = $2`,
      [parent.id, child.parent_step_id],
    );
    await this.memoize(tx, parent.id, child.parent_step_id, state, { ended: new Date() });
    await this.ensureProgress(tx, parent.id, undefined);
  }

  private async lockRun(tx: Tx, runId: string): Promise<RunRow | undefined> {
    const { rows } = await tx.query<RunRow>(
      `SELECT * FROM ${this.s}.runs WHERE id = $1 FOR UPDATE`,
      [runId],
    );
    return rows[0];
  }

  private async notify(tx: Tx): Promise<void> {
    await this.query(tx, "SELECT pg_notify($1, $2)", [this.wakeChannel, String(this.workerId)]);
    this.wake();
  }

  /** A query as a named prepared statement: Postgres parses and plans it once per connection. */
  private query<R extends pg.QueryResultRow>(
    client: pg.Pool | Tx,
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<R>> {
    let name = this.statementNames.get(text);
    if (!name) {
      name = `ie_${createHash("sha1").update(text).digest("hex").slice(0, 20)}`;
      this.statementNames.set(text, name);
    }
    return client.query<R>({ name, text, values });
  }

  /** Runs `callback` when the transaction `tx` ends: after its COMMIT, or with false if it rolled back. */
  private afterTransaction(tx: Tx, callback: (committed: boolean) => void): void {
    const hooks = this.txEndHooks.get(tx);
    if (!hooks) throw new Error("afterTransaction called outside a transaction");
    hooks.push(callback);
  }

  /** Runs fn in a transaction, retrying on deadlocks and serialization failures. */
  private async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const client = await this.pool.connect();
      // NOTE: a checked-out client has no pool error listener; a connection lost between two queries would
      // otherwise be an uncaught 'error' event. The next query fails and the client is discarded below.
      let lost: Error | undefined;
      const onError = (err: Error) => {
        lost = err;
      };
      client.on("error", onError);
      const hooks: ((committed: boolean) => void)[] = [];
      this.txEndHooks.set(client, hooks);
      const end = (committed: boolean) => {
        this.txEndHooks.delete(client);
        for (const hook of hooks) hook(committed);
      };
      try {
        await client.query("BEGIN");
        const result = await fn(client);
        await client.query("COMMIT");
        end(true);
        return result;
      } catch (err) {
        // NOTE: a COMMIT that failed on a dropped connection may still have committed; hooks then see
        // false, and what they would have started is recovered like any lease of a stopped worker.
        end(false);
        if (!lost) await client.query("ROLLBACK").catch(() => undefined);
        const code = (err as { code?: string }).code;
        if ((code === "40P01" || code === "40001") && attempt < 5) continue;
        // A dropped connection rolled the transaction back (or, at COMMIT, maybe not: every
        // transaction here is safe to repeat, as leases and memoized results are checked first).
        if ((lost || isConnectionError(err)) && attempt < 3) continue;
        throw err;
      } finally {
        client.off("error", onError);
        client.release(lost);
      }
    }
  }
}

interface PlannedRun {
  config: FunctionConfig;
  /** The function's serve URL (where its calls go). */
  url: string;
  events: StoredEvent[];
  parent?: { runId: string; stepId: string };
}

export interface RunSummaryRow {
  id: string;
  function_id: string;
  app_id: string | null;
  event_id: string | null;
  status: RunStatus;
  output: unknown;
  error: SerializedError | null;
  created_at: Date;
  started_at: Date | null;
  ended_at: Date | null;
}

export interface StepSummaryRow {
  step_id: string;
  name: string | null;
  op: string;
  status: string;
  attempts: number;
  started_at: string | null;
  ended_at: string | null;
}

function toStoredEvent(
  payload: EventPayload,
  seed: string | undefined,
  index: number,
  now: number,
): StoredEvent {
  const id = payload.id ?? (seed ? seededEventId(seed, index) : undefined) ?? newUlid(now);
  return { ...payload, id, name: payload.name, data: payload.data ?? {}, ts: payload.ts ?? now };
}

function eventNameMatches(pattern: string, name: string): boolean {
  if (pattern.endsWith("*")) return name.startsWith(pattern.slice(0, -1));
  return pattern === name;
}

/** Encodes each concurrency constraint of a run as "<limit>|<scope>|<key expression>|<key value>". */
function concurrencyKeysFor(config: FunctionConfig, vars: Record<string, unknown>): string[] {
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

function concurrencyLimit(key: string): number {
  return Number(key.split("|", 1)[0]);
}

const CONNECTION_ERROR_CODES = new Set(["57P01", "57P02", "57P03", "08000", "08003", "08006"]);

function isConnectionError(err: unknown): boolean {
  const { code, message } = err as { code?: string; message?: string };
  return (
    (code !== undefined && CONNECTION_ERROR_CODES.has(code)) ||
    /Connection terminated|ECONNRESET|ECONNREFUSED/.test(message ?? "")
  );
}

function parseJson(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
