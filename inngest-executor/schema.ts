/**
 * The executor's own Postgres schema, created idempotently at start and
 * versioned: each entry of MIGRATIONS runs once, in order, in one transaction
 * under an advisory lock so that several executors starting together are safe.
 */
import type pg from "pg";

const MIGRATE_LOCK_KEY = 72_707_370;

/** Quotes a schema name for SQL; names are checked so they never need escaping. */
export function schemaIdent(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
    throw new Error(`Invalid executor schema name: ${schema}`);
  return `"${schema}"`;
}

const MIGRATIONS: ((s: string) => string)[] = [
  (s) => `
CREATE TABLE ${s}.apps (
  id text PRIMARY KEY,
  url text NOT NULL,
  sdk text,
  synced_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE ${s}.functions (
  id text PRIMARY KEY,
  app_id text NOT NULL REFERENCES ${s}.apps(id) ON DELETE CASCADE,
  name text,
  url text NOT NULL,
  config jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE ${s}.events (
  id text PRIMARY KEY,
  name text NOT NULL,
  payload jsonb NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_received_at ON ${s}.events (received_at DESC);
CREATE TABLE ${s}.runs (
  id text PRIMARY KEY,
  function_id text NOT NULL,
  event_id text,
  events jsonb NOT NULL,
  status text NOT NULL,
  output jsonb,
  error jsonb,
  idempotency_key text,
  concurrency_keys text[] NOT NULL DEFAULT '{}',
  max_attempts int NOT NULL,
  disable_immediate boolean NOT NULL DEFAULT false,
  parent_run_id text,
  parent_step_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  ended_at timestamptz
);
CREATE UNIQUE INDEX runs_idempotency ON ${s}.runs (function_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX runs_event ON ${s}.runs (event_id);
CREATE INDEX runs_created ON ${s}.runs (created_at DESC);
CREATE SEQUENCE ${s}.step_seq;
CREATE TABLE ${s}.run_steps (
  run_id text NOT NULL REFERENCES ${s}.runs(id) ON DELETE CASCADE,
  step_id text NOT NULL,
  name text,
  op text NOT NULL,
  status text NOT NULL,
  state jsonb,
  error jsonb,
  attempts int NOT NULL DEFAULT 0,
  seq bigint,
  started_at timestamptz,
  ended_at timestamptz,
  PRIMARY KEY (run_id, step_id)
);
CREATE TABLE ${s}.jobs (
  id bigserial PRIMARY KEY,
  run_id text NOT NULL REFERENCES ${s}.runs(id) ON DELETE CASCADE,
  kind text NOT NULL,
  step_id text,
  attempt int NOT NULL DEFAULT 0,
  network_failures int NOT NULL DEFAULT 0,
  run_at timestamptz NOT NULL DEFAULT now(),
  concurrency_keys text[] NOT NULL DEFAULT '{}',
  leased_by bigint,
  lease_token text,
  lease_until timestamptz
);
CREATE INDEX jobs_due ON ${s}.jobs (run_at) WHERE lease_until IS NULL;
CREATE INDEX jobs_run ON ${s}.jobs (run_id);
CREATE UNIQUE INDEX jobs_one_discovery ON ${s}.jobs (run_id) WHERE kind = 'call' AND step_id IS NULL;
CREATE UNIQUE INDEX jobs_one_per_step ON ${s}.jobs (run_id, kind, step_id) WHERE step_id IS NOT NULL;
CREATE TABLE ${s}.waits (
  run_id text NOT NULL REFERENCES ${s}.runs(id) ON DELETE CASCADE,
  step_id text NOT NULL,
  event_name text NOT NULL,
  expression text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, step_id)
);
CREATE INDEX waits_event ON ${s}.waits (event_name);
CREATE TABLE ${s}.cancellations (
  id bigserial PRIMARY KEY,
  run_id text NOT NULL REFERENCES ${s}.runs(id) ON DELETE CASCADE,
  event_name text NOT NULL,
  expression text,
  expires_at timestamptz
);
CREATE INDEX cancellations_event ON ${s}.cancellations (event_name);
`,
  // v2: a hash of each app's synced config, so periodic re-syncs write (and log) only changes.
  (s) => `ALTER TABLE ${s}.apps ADD COLUMN config_hash text;`,
  // v3: the parallel mode of a planned step ("race" resumes the run as soon as one branch is done).
  (s) => `ALTER TABLE ${s}.run_steps ADD COLUMN parallel_mode text;`,
  // v4: step results in one round trip (a checkpoint, or a call that ran one step). The run is locked
  // first and every later statement takes a fresh snapshot (PL/pgSQL, READ COMMITTED), so the lease
  // check and the steps returned for the next call include everything committed before the lock.
  // Returns NULL when the job's lease is gone or the run has ended.
  (s) => `
CREATE FUNCTION ${s}.record_steps(p_run_id text, p_job_id bigint, p_lease_token text, p_steps jsonb,
  p_step_started_at timestamptz, p_reset_job boolean, p_run_started_at timestamptz, p_next_call boolean)
RETURNS json LANGUAGE plpgsql AS $fn$
DECLARE
  v_disable_immediate boolean;
  v_started_at timestamptz;
BEGIN
  PERFORM 1 FROM ${s}.runs WHERE id = p_run_id FOR UPDATE;
  SELECT r.disable_immediate, r.started_at INTO v_disable_immediate, v_started_at FROM ${s}.runs r
  WHERE r.id = p_run_id AND r.status = 'running'
    AND EXISTS (SELECT 1 FROM ${s}.jobs j WHERE j.id = p_job_id AND j.lease_token = p_lease_token AND j.run_id = r.id);
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  INSERT INTO ${s}.run_steps AS rs (run_id, step_id, name, op, status, state, attempts, seq, started_at, ended_at)
  SELECT p_run_id, x.step_id, x.name, x.op, 'completed', x.state, 1, nextval('${s}.step_seq'), p_step_started_at, now()
  FROM jsonb_to_recordset(p_steps) AS x(step_id text, name text, op text, state jsonb)
  ON CONFLICT (run_id, step_id) DO UPDATE SET state = EXCLUDED.state, status = EXCLUDED.status, error = NULL,
    seq = EXCLUDED.seq, ended_at = EXCLUDED.ended_at, started_at = COALESCE(rs.started_at, EXCLUDED.started_at)
  WHERE rs.state IS NULL;
  IF p_reset_job THEN
    UPDATE ${s}.jobs SET attempt = 0, network_failures = 0
    WHERE id = p_job_id AND (attempt <> 0 OR network_failures <> 0);
  END IF;
  IF v_started_at IS NULL AND p_run_started_at IS NOT NULL THEN
    UPDATE ${s}.runs SET started_at = p_run_started_at WHERE id = p_run_id;
  END IF;
  IF NOT p_next_call THEN
    RETURN '{}'::json;
  END IF;
  RETURN json_build_object(
    'disable_immediate', v_disable_immediate,
    'url', (SELECT f.url FROM ${s}.runs r JOIN ${s}.functions f ON f.id = r.function_id WHERE r.id = p_run_id),
    'steps', COALESCE((SELECT json_agg(json_build_object('step_id', st.step_id, 'state', st.state) ORDER BY st.seq)
      FROM ${s}.run_steps st WHERE st.run_id = p_run_id AND st.state IS NOT NULL), '[]'::json));
END
$fn$;
`,
  // v5: flow control and scheduling. `flow` records which rules delayed or shaped a run (for the runs
  // page); one running run per singleton key; GCRA state for throttle and rateLimit; the open batch or
  // debounce run of each key; events a rule skipped; cron schedules.
  (s) => `
ALTER TABLE ${s}.runs ADD COLUMN flow jsonb, ADD COLUMN singleton_key text;
CREATE UNIQUE INDEX runs_singleton ON ${s}.runs (function_id, singleton_key)
  WHERE singleton_key IS NOT NULL AND status = 'running';
CREATE TABLE ${s}.flow_gcra (
  key text PRIMARY KEY,
  tat timestamptz NOT NULL
);
CREATE TABLE ${s}.pending_runs (
  function_id text NOT NULL,
  kind text NOT NULL,
  key text NOT NULL,
  run_id text NOT NULL REFERENCES ${s}.runs(id) ON DELETE CASCADE,
  opened_at timestamptz NOT NULL DEFAULT now(),
  event_count int NOT NULL DEFAULT 1,
  PRIMARY KEY (function_id, kind, key)
);
CREATE TABLE ${s}.skipped_runs (
  id bigserial PRIMARY KEY,
  function_id text NOT NULL,
  event_id text,
  rule text NOT NULL,
  detail text NOT NULL,
  skipped_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX skipped_runs_at ON ${s}.skipped_runs (skipped_at DESC);
CREATE TABLE ${s}.cron_schedules (
  function_id text NOT NULL REFERENCES ${s}.functions(id) ON DELETE CASCADE,
  cron text NOT NULL,
  next_at timestamptz NOT NULL,
  PRIMARY KEY (function_id, cron)
);
`,
  // v6: step results are committed without waiting for the WAL flush. A commit that waits costs
  // 1-6 ms on a shared disk, on every step's path (the SDK waits for each checkpoint's answer).
  // NOTE: a crash of Postgres itself (not of an executor) within a fraction of a second may lose the
  // latest step results, and those steps run again: the at-least-once a step in flight already has.
  // Events, run creation and run completion still wait for the flush, and flushing them flushes
  // every step recorded before.
  (s) => `
ALTER FUNCTION ${s}.record_steps(text, bigint, text, jsonb, timestamptz, boolean, timestamptz, boolean)
  RENAME TO record_steps_body;
CREATE FUNCTION ${s}.record_steps(p_run_id text, p_job_id bigint, p_lease_token text, p_steps jsonb,
  p_step_started_at timestamptz, p_reset_job boolean, p_run_started_at timestamptz, p_next_call boolean)
RETURNS json LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  RETURN ${s}.record_steps_body(p_run_id, p_job_id, p_lease_token, p_steps, p_step_started_at,
    p_reset_job, p_run_started_at, p_next_call);
END
$fn$;
`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export async function migrateSchema(pool: pg.Pool, schema: string): Promise<void> {
  const s = schemaIdent(schema);
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATE_LOCK_KEY]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_version (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ v: number | null }>(
      `SELECT max(version) AS v FROM ${s}.schema_version`,
    );
    const current = rows[0]?.v ?? 0;
    for (let version = current + 1; version <= MIGRATIONS.length; version++) {
      const migration = MIGRATIONS[version - 1];
      if (!migration) break;
      await client.query(migration(s));
      await client.query(`INSERT INTO ${s}.schema_version (version) VALUES ($1)`, [version]);
    }
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
