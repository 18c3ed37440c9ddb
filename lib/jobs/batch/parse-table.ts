/**
 * A batch job's table: a CSV file (a header row, then one row per item) or a
 * JSONL file (one JSON value per line), read with csv-parse and checked with
 * zod. The text is the `text` column (or key), else a CSV's first column; a
 * label comes from `title`, `id` or `name` when present. Every problem names
 * its row, so the user can fix the file.
 */
import { parse } from "csv-parse/sync";
import { z } from "zod";
import { DomainError } from "@/lib/errors";
import { BATCH_LIMITS } from "@/lib/jobs/schemas";
import { safeText } from "@/lib/text";

export interface TableItem {
  /** 1-based, in file order (blank lines skipped). */
  position: number;
  label: string;
  text: string;
}

const LABEL_CHARS = 200;
const LABEL_KEYS = ["title", "id", "name"] as const;

const itemTextSchema = safeText()
  .trim()
  .min(1, "has no text")
  .max(
    BATCH_LIMITS.maxItemChars,
    `is longer than ${BATCH_LIMITS.maxItemChars.toLocaleString("en")} characters`,
  );

const jsonlRowSchema = z.union([
  z.string(),
  z.looseObject({
    text: z.string(),
    title: z.union([z.string(), z.number()]).optional(),
    id: z.union([z.string(), z.number()]).optional(),
    name: z.union([z.string(), z.number()]).optional(),
  }),
]);

function invalid(message: string, cause?: unknown): DomainError {
  return new DomainError("invalid_batch_file", { message, cause });
}

function tooMany(): DomainError {
  return invalid(
    `The file has more than ${BATCH_LIMITS.maxRows.toLocaleString("en")} rows, the most one batch job takes. Split it into several jobs.`,
  );
}

function toItem(row: number, text: string, label: string | undefined): TableItem {
  const parsed = itemTextSchema.safeParse(text);
  if (!parsed.success) throw invalid(`Row ${row} ${parsed.error.issues[0]!.message}.`);
  const fallback = parsed.data.replace(/\s+/g, " ").slice(0, 80);
  const clean = (label ?? "").replace(/\s+/g, " ").trim().slice(0, LABEL_CHARS);
  return { position: row, label: clean || fallback, text: parsed.data };
}

function parseCsv(content: string): TableItem[] {
  let records: string[][];
  try {
    records = parse(content, {
      bom: true,
      skip_empty_lines: true,
      relax_quotes: false,
      // One row more than allowed is enough to say there are too many.
      to_line: BATCH_LIMITS.maxRows + 2,
    }) as string[][];
  } catch (error) {
    const line = (error as { lines?: number }).lines;
    throw invalid(
      `The CSV file could not be read${line ? ` (near line ${line})` : ""}: check its quotes and commas.`,
      error,
    );
  }
  const [header, ...rows] = records;
  if (!header || rows.length === 0)
    throw invalid("The CSV file needs a header row and at least one row of text.");
  if (rows.length > BATCH_LIMITS.maxRows) throw tooMany();
  const names = header.map((name) => name.trim().toLowerCase());
  const textColumn = Math.max(names.indexOf("text"), 0);
  const labelColumn = LABEL_KEYS.map((key) => names.indexOf(key)).find((index) => index >= 0);
  return rows.map((row, i) =>
    toItem(i + 1, row[textColumn] ?? "", labelColumn === undefined ? undefined : row[labelColumn]),
  );
}

function parseJsonl(content: string): TableItem[] {
  const lines = content
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)
    .filter((line) => line.trim());
  if (lines.length === 0) throw invalid("The JSONL file has no rows.");
  if (lines.length > BATCH_LIMITS.maxRows) throw tooMany();
  return lines.map((line, i) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw invalid(`Row ${i + 1} is not valid JSON.`, error);
    }
    const row = jsonlRowSchema.safeParse(value);
    if (!row.success)
      throw invalid(`Row ${i + 1} must be a string or an object with a "text" string.`);
    const data = row.data;
    if (typeof data === "string") return toItem(i + 1, data, undefined);
    const label = LABEL_KEYS.map((key) => data[key]).find((value) => value !== undefined);
    return toItem(i + 1, data.text, label === undefined ? undefined : String(label));
  });
}

/** The items of a table, or a DomainError `invalid_batch_file` that says which row is wrong. */
export function parseBatchTable(format: "csv" | "jsonl", content: string): TableItem[] {
  return format === "csv" ? parseCsv(content) : parseJsonl(content);
}
