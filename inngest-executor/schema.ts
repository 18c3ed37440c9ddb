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
