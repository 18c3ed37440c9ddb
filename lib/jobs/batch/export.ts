/**
 * A batch job's per-item results as a file: CSV (through csv-stringify, so
 * quotes, commas and newlines in summaries are escaped as spreadsheets
 * expect) or JSONL, one item per row in position order. Rows are read in
 * pages and streamed, so 10,000 items never sit in memory at once.
 */
import "server-only";
import { stringify } from "csv-stringify/sync";
import { z } from "zod";
import { db } from "@/lib/db";

export const resultFormatSchema = z.enum(["csv", "jsonl"]);
export type ResultFormat = z.infer<typeof resultFormatSchema>;

const PAGE = 500;
const COLUMNS = [
  "position",
  "label",
  "status",
  "summary",
  "error",
  "mode",
  "input_tokens",
  "output_tokens",
];

const itemSelect = {
  position: true,
  label: true,
  status: true,
  summary: true,
  errorCode: true,
  errorMessage: true,
  mode: true,
  inputTokens: true,
  outputTokens: true,
} as const;

export const resultContentTypes: Record<ResultFormat, string> = {
  csv: "text/csv; charset=utf-8",
  jsonl: "application/x-ndjson; charset=utf-8",
};

/** The job's items, serialized, a page of rows at a time. */
export function exportBatchResults(
  jobId: string,
  format: ResultFormat,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let after = 0;
  let started = false;
  return new ReadableStream({
    async pull(controller) {
      if (!started && format === "csv") controller.enqueue(encoder.encode(stringify([COLUMNS])));
      started = true;
      const items = await db.batchItem.findMany({
        where: { jobId, position: { gt: after } },
        orderBy: { position: "asc" },
        take: PAGE,
        select: itemSelect,
      });
      if (items.length === 0) {
        controller.close();
        return;
      }
      after = items.at(-1)!.position;
      const rows = items.map((item) => ({
        position: item.position,
        label: item.label,
        status: item.status,
        summary: item.summary,
        error: item.errorMessage,
        mode: item.mode,
        input_tokens: item.inputTokens,
        output_tokens: item.outputTokens,
      }));
      const text =
        format === "csv"
          ? stringify(
              rows.map((row) => COLUMNS.map((column) => row[column as keyof typeof row] ?? "")),
            )
          : rows.map((row) => `${JSON.stringify(row)}\n`).join("");
      controller.enqueue(encoder.encode(text));
    },
  });
}
