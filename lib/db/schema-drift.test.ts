/**
 * Proves that prisma/schema.prisma and the SQL migrations describe the same
 * database: the migrated test database is compared with Prisma's own reading
 * of the schema (its DMMF, from the wasm engine in @prisma/internals).
 */
import { readFileSync } from "node:fs";
import internals from "@prisma/internals";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

type Dmmf = Awaited<ReturnType<typeof internals.getDMMF>>["datamodel"];
type Field = Dmmf["models"][number]["fields"][number];

const scalarTypes: Record<string, string> = {
  String: "text",
  Int: "int4",
  BigInt: "int8",
  Float: "float8",
  Decimal: "numeric",
  Boolean: "bool",
  DateTime: "timestamp",
  Json: "jsonb",
  Bytes: "bytea",
};
const nativeTypes: Record<string, string> = {
  Uuid: "uuid",
  Text: "text",
  VarChar: "varchar",
  Char: "bpchar",
  Timestamptz: "timestamptz",
  Timestamp: "timestamp",
  Date: "date",
  Integer: "int4",
  SmallInt: "int2",
  BigInt: "int8",
  DoublePrecision: "float8",
  Real: "float4",
  JsonB: "jsonb",
  Json: "json",
  Inet: "inet",
};

function expectedType(field: Field, enums: Map<string, string>): string {
  const base =
    field.kind === "enum"
      ? (enums.get(field.type) ?? field.type)
      : field.nativeType
        ? (nativeTypes[field.nativeType[0]] ?? field.nativeType[0].toLowerCase())
        : (scalarTypes[field.type] ?? field.type);
  return field.isList ? `_${base}` : base;
}

/** The defaults the database itself holds; uuid(), cuid() and @updatedAt live in the client. */
function expectedDefault(field: Field): RegExp | null {
  if (!field.hasDefaultValue || field.default === undefined) return null;
  const value = field.default as unknown;
  if (typeof value === "object" && value !== null && "name" in value) {
    const fn = value as { name: string; args: unknown[] };
    if (fn.name === "now") return /^(CURRENT_TIMESTAMP|now\(\))/;
    if (fn.name === "autoincrement") return /^nextval\(/;
    if (fn.name === "dbgenerated")
      return new RegExp(`^${String(fn.args[0]).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`);
    return null;
  }
  const literal = Array.isArray(value) ? "ARRAY" : String(value);
  return new RegExp(`^'?${literal.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`);
}

interface Column {
  table: string;
  column: string;
  udt: string;
  nullable: boolean;
  default: string | null;
  generated: boolean;
}
interface Index {
  table: string;
  name: string;
  columns: string[];
  unique: boolean;
  primary: boolean;
  method: string;
}

/**
 * `Unsupported("…")` fields (e.g. a generated tsvector) are left out of the
 * DMMF's fields, though its indexes name them; they are read from the schema
 * text instead and checked as strictly: name, type, nullability.
 */
interface UnsupportedField {
  model: string;
  name: string;
  column: string;
  udt: string;
  nullable: boolean;
}

function unsupportedFields(schema: string): UnsupportedField[] {
  const fields: UnsupportedField[] = [];
  for (const block of schema.matchAll(/^model\s+(\w+)\s*\{([\s\S]*?)^\}/gm)) {
    for (const line of block[2]!.matchAll(/^\s*(\w+)\s+Unsupported\("([^"]+)"\)(\?)?(.*)$/gm)) {
      const mapped = /@map\("([^"]+)"\)/.exec(line[4]!);
      fields.push({
        model: block[1]!,
        name: line[1]!,
        column: mapped?.[1] ?? line[1]!,
        udt: line[2]!,
        nullable: line[3] === "?",
      });
    }
  }
  return fields;
}

let client: pg.Client;
let dmmf: Dmmf;
let unsupported: UnsupportedField[];
let columns: Column[];
let indexes: Index[];

beforeAll(async () => {
  const schema = readFileSync("prisma/schema.prisma", "utf8");
  dmmf = (await internals.getDMMF({ datamodel: schema })).datamodel;
  unsupported = unsupportedFields(schema);
  client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  columns = (
    await client.query<Column>(`
      SELECT table_name AS table, column_name AS column, udt_name AS udt,
             is_nullable = 'YES' AS nullable, column_default AS default,
             is_generated = 'ALWAYS' AS generated
      FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`)
  ).rows;
  indexes = (
    await client.query<Index>(`
      SELECT t.relname AS table, i.relname AS name, ix.indisunique AS unique, ix.indisprimary AS primary,
             am.amname AS method,
             array(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY k(attnum, n)
                   JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.n)::text[] AS columns
      FROM pg_index ix
      JOIN pg_class t ON t.oid = ix.indrelid
      JOIN pg_class i ON i.oid = ix.indexrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
      JOIN pg_am am ON am.oid = i.relam
      WHERE n.nspname = 'public' AND t.relname <> '_prisma_migrations'`)
  ).rows;
});
afterAll(() => client?.end());

function tableOf(modelName: string) {
  const model = dmmf.models.find((m) => m.name === modelName)!;
  return model.dbName ?? model.name;
}
function columnOf(modelName: string, fieldName: string) {
  const field = dmmf.models
    .find((m) => m.name === modelName)!
    .fields.find((f) => f.name === fieldName);
  if (field) return field.dbName ?? field.name;
  const other = unsupported.find((f) => f.model === modelName && f.name === fieldName);
  if (!other) throw new Error(`Unknown field ${modelName}.${fieldName}`);
  return other.column;
}

describe("schema.prisma agrees with the migrated database", () => {
  it("has exactly the tables of the models", () => {
    const tables = new Set(columns.map((c) => c.table));
    expect([...tables].sort()).toEqual(dmmf.models.map((m) => m.dbName ?? m.name).sort());
  });

  it("has exactly the columns, types, nullability and defaults of the fields", () => {
    const enums = new Map(dmmf.enums.map((e) => [e.name, e.dbName ?? e.name]));
    for (const model of dmmf.models) {
      const table = model.dbName ?? model.name;
      const scalarFields = model.fields.filter((f) => f.kind === "scalar" || f.kind === "enum");
      const otherFields = unsupported.filter((f) => f.model === model.name);
      const actual = columns.filter((c) => c.table === table);
      expect(actual.map((c) => c.column).sort(), `columns of ${table}`).toEqual(
        [
          ...scalarFields.map((f) => f.dbName ?? f.name),
          ...otherFields.map((f) => f.column),
        ].sort(),
      );
      for (const field of otherFields) {
        const column = actual.find((c) => c.column === field.column)!;
        const where = `${table}.${column.column}`;
        expect(column.udt, `type of ${where}`).toBe(field.udt);
        expect(column.nullable, `nullability of ${where}`).toBe(field.nullable);
        expect(column.default, `default of ${where}`).toBeNull();
      }
      for (const field of scalarFields) {
        const column = actual.find((c) => c.column === (field.dbName ?? field.name))!;
        const where = `${table}.${column.column}`;
        // Prisma writes every field it knows; only Unsupported fields may be generated.
        expect(column.generated, `generated ${where}`).toBe(false);
        expect(column.udt, `type of ${where}`).toBe(expectedType(field, enums));
        expect(column.nullable, `nullability of ${where}`).toBe(!field.isRequired);
        const expected = expectedDefault(field);
        if (expected) expect(column.default ?? "", `default of ${where}`).toMatch(expected);
        else if (!field.default || (field.default as { name?: string }).name !== "autoincrement")
          expect(column.default, `default of ${where}`).toBeNull();
      }
    }
  });

  it("has exactly the primary keys, unique constraints and indexes of the schema", () => {
    const expected = dmmf.indexes.map((index) => {
      const table = tableOf(index.model);
      const cols = index.fields.map((f) => columnOf(index.model, f.name));
      const suffix = index.type === "id" ? "pkey" : index.type === "unique" ? "key" : "idx";
      return {
        table,
        name:
          index.dbName ??
          (index.type === "id" ? `${table}_pkey` : `${table}_${cols.join("_")}_${suffix}`),
        columns: cols,
        unique: index.type === "id" || index.type === "unique",
        primary: index.type === "id",
        method: (index.algorithm ?? "BTree").toLowerCase(),
      };
    });
    const sortKey = (i: Index) => `${i.table}/${i.name}`;
    expect([...indexes].sort((a, b) => sortKey(a).localeCompare(sortKey(b)))).toEqual(
      expected.sort((a, b) => sortKey(a).localeCompare(sortKey(b))),
    );
  });
});
