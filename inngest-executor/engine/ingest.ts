/**
 * Apps and events in: an app's sync stores its functions; an event is stored
 * once (deduplicated by id) and starts the runs its triggers match, resumes
 * the waits it satisfies and cancels the runs it cancels.
 */
import { createHash } from "node:crypto";
import { expressionMatches } from "../expressions";
import {
  eventPayloadSchema,
  functionConfigSchema,
  newUlid,
  registerBodySchema,
  seededEventId,
  type EventPayload,
  type RegisterBody,
  type StoredEvent,
} from "../protocol";
import { notify, type EngineContext } from "./context";
import { cancelRunInTx, ensureProgress } from "./lifecycle";
import { syncCronSchedules } from "./cron";
import { planRuns } from "./flow-control";
import { SyncRefusedError, unsupportedSettings } from "./settings";
import { memoize } from "./step-records";
import type { Tx } from "./store";
import type { PlannedRun, SyncedFunction } from "./types";

export async function registerApp(
  ctx: EngineContext,
  raw: unknown,
): Promise<{ appId: string; functions: number; modified: boolean }> {
  const { s } = ctx;
  const body: RegisterBody = registerBodySchema.parse(raw);
  const refused = body.functions.flatMap((fn) =>
    unsupportedSettings(fn).map((problem) => `function ${fn.id}: ${problem}`),
  );
  if (refused.length > 0) {
    const message = `The embedded executor refuses to sync app ${body.appName}: ${refused.join("; ")}`;
    ctx.refusedSyncs.set(body.appName, { message, at: new Date() });
    throw new SyncRefusedError(message);
  }
  ctx.refusedSyncs.delete(body.appName);
  const hash = createHash("sha256")
    .update(JSON.stringify([body.url, body.functions]))
    .digest("hex");
  const modified = await ctx.store.transaction(async (tx) => {
    const { rows } = await tx.query<{ config_hash: string | null }>(
      `SELECT config_hash FROM ${s}.apps WHERE id = $1 FOR UPDATE`,
      [body.appName],
    );
    if (rows[0]?.config_hash === hash) {
      await tx.query(`UPDATE ${s}.apps SET synced_at = now() WHERE id = $1`, [body.appName]);
      return false;
    }
    await tx.query(
      `INSERT INTO ${s}.apps (id, url, sdk, config_hash, synced_at) VALUES ($1, $2, $3, $4, now())
       ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, sdk = EXCLUDED.sdk, config_hash = EXCLUDED.config_hash, synced_at = now()`,
      [body.appName, body.url, body.sdk ?? null, hash],
    );
    const ids = body.functions.map((fn) => fn.id);
    await tx.query(`DELETE FROM ${s}.functions WHERE app_id = $1 AND NOT (id = ANY($2::text[]))`, [
      body.appName,
      ids,
    ]);
    for (const fn of body.functions) {
      const url = Object.values(fn.steps)[0]?.runtime.url;
      if (!url) continue;
      await tx.query(
        `INSERT INTO ${s}.functions (id, app_id, name, url, config, updated_at) VALUES ($1, $2, $3, $4, $5, now())
         ON CONFLICT (id) DO UPDATE SET app_id = EXCLUDED.app_id, name = EXCLUDED.name, url = EXCLUDED.url,
           config = EXCLUDED.config, updated_at = now()`,
        [fn.id, body.appName, fn.name ?? fn.id, url, JSON.stringify(fn)],
      );
      await syncCronSchedules(ctx, tx, fn);
    }
    return true;
  });
  if (modified) {
    ctx.functionCache = undefined;
    ctx.options.log(
      `synced app ${body.appName}: ${body.functions.length} function(s) at ${body.url}`,
    );
  }
  return { appId: body.appName, functions: body.functions.length, modified };
}

/** Stores events (deduplicated by id) and starts, resumes or cancels the runs they concern. */
export async function ingestEvents(
  ctx: EngineContext,
  raw: unknown[],
  idSeed?: string,
): Promise<string[]> {
  const payloads = raw.map((item) => eventPayloadSchema.parse(item));
  const now = Date.now();
  const events: StoredEvent[] = payloads.map((payload, index) =>
    toStoredEvent(payload, idSeed, index, now),
  );
  await ctx.store.transaction((tx) => ingestInTx(ctx, tx, events));
  return events.map((event) => event.id);
}

/**
 * Stores a batch of events and starts their runs with a fixed number of
 * statements, whatever the batch size; waits and cancellations are matched
 * per event, in order.
 */
export async function ingestInTx(ctx: EngineContext, tx: Tx, events: StoredEvent[]): Promise<void> {
  const { s } = ctx;
  const unique = [...new Map(events.map((event) => [event.id, event])).values()];
  const names = [...new Set(unique.map((event) => event.name))];
  // One statement stores the events and says which were new, which functions are synced and who listens.
  // As in Inngest, an event id deduplicates for 24 hours; after that the same id is a new event.
  const { rows } = await ctx.store.query<{
    inserted: string[];
    functions_version: string | null;
    waited: string[];
    cancelling: string[];
  }>(
    tx,
    `WITH inserted AS (
       INSERT INTO ${s}.events (id, name, payload)
       SELECT x.id, x.name, x.payload FROM jsonb_to_recordset($1::jsonb) AS x(id text, name text, payload jsonb)
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, payload = EXCLUDED.payload, received_at = now()
         WHERE ${s}.events.received_at < now() - interval '24 hours'
       RETURNING id
     )
     SELECT ARRAY(SELECT id FROM inserted) AS inserted,
       (SELECT string_agg(id || ':' || COALESCE(config_hash, synced_at::text), ',' ORDER BY id) FROM ${s}.apps) AS functions_version,
       ARRAY(SELECT DISTINCT event_name FROM ${s}.waits WHERE event_name = ANY($2)) AS waited,
       ARRAY(SELECT DISTINCT event_name FROM ${s}.cancellations WHERE event_name = ANY($2)) AS cancelling`,
    [
      JSON.stringify(unique.map((event) => ({ id: event.id, name: event.name, payload: event }))),
      names,
    ],
  );
  const stored = rows[0];
  const insertedIds = new Set(stored?.inserted ?? []);
  const fresh = unique.filter((event) => insertedIds.has(event.id));
  if (!stored || fresh.length === 0) return;
  const functions = await syncedFunctions(ctx, tx, stored.functions_version);
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
  let wakeWorkers = (await planRuns(ctx, tx, planned)).queued;
  const waitedFor = new Set(stored.waited);
  const cancelledBy = new Set(stored.cancelling);
  for (const event of fresh) {
    if (waitedFor.has(event.name) && (await matchWaits(ctx, tx, event))) wakeWorkers = true;
    if (cancelledBy.has(event.name)) await matchCancellations(ctx, tx, event);
  }
  if (wakeWorkers) await notify(ctx, tx);
}

/** The synced functions; read again only when an app's config changed (its hash is in `version`). */
export async function syncedFunctions(
  ctx: EngineContext,
  tx: Tx,
  version: string | null,
): Promise<SyncedFunction[]> {
  const cached = ctx.functionCache;
  if (cached && version !== null && cached.version === version) return cached.functions;
  const { rows } = await tx.query<{ url: string; config: unknown }>(
    `SELECT url, config FROM ${ctx.s}.functions ORDER BY id`,
  );
  const functions = rows.flatMap((row) => {
    const parsed = functionConfigSchema.safeParse(row.config);
    return parsed.success ? [{ config: parsed.data, url: row.url }] : [];
  });
  if (version !== null) ctx.functionCache = { version, functions };
  return functions;
}

async function matchWaits(ctx: EngineContext, tx: Tx, event: StoredEvent): Promise<boolean> {
  const { s } = ctx;
  const { rows } = await tx.query<{
    run_id: string;
    step_id: string;
    expression: string | null;
    events: StoredEvent[];
  }>(
    `SELECT w.run_id, w.step_id, w.expression, r.events FROM ${s}.waits w JOIN ${s}.runs r ON r.id = w.run_id
     WHERE w.event_name = $1 AND r.status = 'running' ORDER BY w.run_id, w.created_at`,
    [event.name],
  );
  let resumed = false;
  for (const wait of rows) {
    if (!expressionMatches(wait.expression, { event: wait.events[0], async: event })) continue;
    const run = await ctx.store.lockRun(tx, wait.run_id);
    if (!run || run.status !== "running") continue;
    const deleted = await tx.query(`DELETE FROM ${s}.waits WHERE run_id = $1 AND step_id = $2`, [
      wait.run_id,
      wait.step_id,
    ]);
    if (deleted.rowCount === 0) continue;
    await tx.query(
      `DELETE FROM ${s}.jobs WHERE run_id = $1 AND kind = 'wait-timeout' AND step_id = $2`,
      [wait.run_id, wait.step_id],
    );
    await memoize(ctx, tx, {
      runId: run.id,
      stepId: wait.step_id,
      state: { type: "data", data: event },
    });
    ctx.options.log(`run ${run.id} wait ${wait.step_id} matched event ${event.name} (${event.id})`);
    await ensureProgress(ctx, tx, { runId: run.id });
    resumed = true;
  }
  return resumed;
}

async function matchCancellations(ctx: EngineContext, tx: Tx, event: StoredEvent): Promise<void> {
  const { s } = ctx;
  const { rows } = await tx.query<{
    run_id: string;
    expression: string | null;
    events: StoredEvent[];
  }>(
    `SELECT c.run_id, c.expression, r.events FROM ${s}.cancellations c JOIN ${s}.runs r ON r.id = c.run_id
     WHERE c.event_name = $1 AND r.status = 'running' AND (c.expires_at IS NULL OR c.expires_at > now()) ORDER BY c.run_id`,
    [event.name],
  );
  for (const cancel of rows) {
    if (!expressionMatches(cancel.expression, { event: cancel.events[0], async: event })) continue;
    await cancelRunInTx(ctx, tx, cancel.run_id, `cancelled by event ${event.name} (${event.id})`);
  }
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
