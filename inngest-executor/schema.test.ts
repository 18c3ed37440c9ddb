import pg from "pg";
import { afterAll, expect, it } from "vitest";
import { migrateSchema, SCHEMA_VERSION } from "./schema";
import { databaseUrl, dropSchema, testSchema } from "./test-helpers";

const schema = testSchema("schema");
const pool = new pg.Pool({ connectionString: databaseUrl(), max: 4 });

afterAll(async () => {
  await pool.end();
  await dropSchema(schema);
});

it("creates its schema idempotently, even from several executors at once, and records the version", async () => {
  await Promise.all([
    migrateSchema(pool, schema),
    migrateSchema(pool, schema),
    migrateSchema(pool, schema),
  ]);
  await migrateSchema(pool, schema);
  const { rows } = await pool.query<{ version: number }>(
    `SELECT version FROM "${schema}".schema_version ORDER BY version`,
  );
  expect(rows.map((row) => row.version)).toEqual(
    Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
  );
  const tables = await pool.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name",
    [schema],
  );
  expect(tables.rows.map((row) => row.table_name)).toEqual(
    expect.arrayContaining([
      "apps",
      "cancellations",
      "events",
      "functions",
      "jobs",
      "run_steps",
      "runs",
      "waits",
    ]),
  );
});

it("commits step results without waiting for the WAL flush, and nothing else", async () => {
  await migrateSchema(pool, schema);
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query(
      `SELECT "${schema}".record_steps('no-such-run', 1, 'token', '[]', now(), false, NULL, false)`,
    );
    const inside = await client.query<{ value: string }>(
      "SELECT current_setting('synchronous_commit') AS value",
    );
    await client.query("ROLLBACK");
    const after = await client.query<{ value: string }>(
      "SELECT current_setting('synchronous_commit') AS value",
    );
    expect(inside.rows[0]?.value).toBe("off");
    expect(after.rows[0]?.value).toBe("on");
  } finally {
    client.release();
  }
});

it("refuses a schema name that would need quoting", async () => {
  await expect(migrateSchema(pool, 'bad"name')).rejects.toThrow(/Invalid executor schema name/);
});
