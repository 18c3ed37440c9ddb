import { createHash } from "node:crypto";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropDatabase, ensureDatabase, migrate, readMigrations } from "@/lib/db/migrate";
import { testDatabaseUrl } from "@/test/global-setup";

const url = testDatabaseUrl(`migrate_${process.pid}_${Date.now().toString(36)}`);

function migrationsDir(files: Record<string, string>) {
  const dir = mkdtempSync(path.join(tmpdir(), "migrations-"));
  for (const [name, sql] of Object.entries(files)) {
    mkdirSync(path.join(dir, name));
    writeFileSync(path.join(dir, name, "migration.sql"), sql);
  }
  return dir;
}

async function query<T extends pg.QueryResultRow>(sql: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe("migrate", () => {
  beforeAll(async () => {
    expect(await ensureDatabase(url)).toBe(true);
    expect(await ensureDatabase(url)).toBe(false);
  });
  afterAll(() => dropDatabase(url));

  it("applies pending migrations in order once, recording them as Prisma Migrate does", async () => {
    const dir = migrationsDir({
      "20260101000000_a": "CREATE TABLE t (id int);",
      "20260102000000_b": "INSERT INTO t VALUES (1);",
    });
    expect(await migrate(url, { dir })).toEqual(["20260101000000_a", "20260102000000_b"]);
    expect(await migrate(url, { dir })).toEqual([]);
    expect(await query("SELECT id FROM t")).toEqual([{ id: 1 }]);

    const rows = await query<{
      migration_name: string;
      checksum: string;
      applied_steps_count: number;
    }>(
      `SELECT migration_name, checksum, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name`,
    );
    expect(rows).toEqual([
      {
        migration_name: "20260101000000_a",
        checksum: createHash("sha256").update("CREATE TABLE t (id int);").digest("hex"),
        applied_steps_count: 1,
      },
      {
        migration_name: "20260102000000_b",
        checksum: createHash("sha256").update("INSERT INTO t VALUES (1);").digest("hex"),
        applied_steps_count: 1,
      },
    ]);
  });

  it("rolls back a failing migration entirely and does not record it", async () => {
    const dir = migrationsDir({
      "20260101000000_a": "CREATE TABLE t (id int);",
      "20260102000000_b": "INSERT INTO t VALUES (1);",
      "20260103000000_bad": "CREATE TABLE u (id int); SELECT no_such_function();",
    });
    await expect(migrate(url, { dir })).rejects.toThrow(/20260103000000_bad failed/);
    expect(await query(`SELECT to_regclass('u') AS u`)).toEqual([{ u: null }]);
    const names = await query<{ migration_name: string }>(
      `SELECT migration_name FROM "_prisma_migrations"`,
    );
    expect(names.map((row) => row.migration_name)).not.toContain("20260103000000_bad");
  });

  it("serialises concurrent migrators", async () => {
    const dir = migrationsDir({ "20260104000000_c": "CREATE TABLE c (id int);" });
    const results = await Promise.all([
      migrate(url, { dir }),
      migrate(url, { dir }),
      migrate(url, { dir }),
    ]);
    expect(results.flat()).toEqual(["20260104000000_c"]);
  });

  it("reads the project's migrations with stable checksums", () => {
    const migrations = readMigrations();
    expect(migrations.length).toBeGreaterThan(0);
    expect(migrations.map((m) => m.name)).toEqual([...migrations.map((m) => m.name)].sort());
    for (const migration of migrations) expect(migration.checksum).toMatch(/^[0-9a-f]{64}$/);
  });
});
