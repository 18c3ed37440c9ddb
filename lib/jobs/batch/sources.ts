/**
 * What a batch job's items are made of, at creation: the rows of a CSV or
 * JSONL file, web pages (fetched later, by the job's read step, through
 * the SSRF-safe client), or files of the owner's library (their text copied
 * in now, up to the opening {@link BATCH_LIMITS.maxSourceChars} characters).
 */
import "server-only";
import { db } from "@/lib/db";
import { DomainError } from "@/lib/errors";
import { parseBatchTable } from "@/lib/jobs/batch/parse-table";
import { BATCH_LIMITS, type CreateJobInput, type StoredJobInput } from "@/lib/jobs/schemas";

type BatchSource = Extract<CreateJobInput, { kind: "batch" }>["source"];
type StoredBatchSource = Extract<StoredJobInput, { kind: "batch" }>["source"];

export interface NewBatchItem {
  position: number;
  label: string;
  text: string;
  sourceUrl?: string;
  documentId?: string;
}

const LABEL_CHARS = 200;

function urlLabel(raw: string): string {
  const url = new URL(raw);
  return `${url.hostname}${url.pathname === "/" ? "" : url.pathname}`.slice(0, LABEL_CHARS);
}

export async function batchItemsFor(
  ownerId: string,
  source: BatchSource,
): Promise<{ items: NewBatchItem[]; stored: StoredBatchSource; title: string }> {
  if (source.type === "table") {
    const { content, ...table } = source;
    const items = parseBatchTable(table.format, content);
    return {
      items,
      stored: { ...table, rows: items.length },
      title: `${items.length.toLocaleString("en")} summaries from ${table.fileName}`,
    };
  }
  if (source.type === "urls") {
    const urls = [...new Set(source.urls)];
    return {
      items: urls.map((url, i) => ({
        position: i + 1,
        label: urlLabel(url),
        text: "",
        sourceUrl: url,
      })),
      stored: { type: "urls", rows: urls.length },
      title: `${urls.length} ${urls.length === 1 ? "summary" : "summaries"} of web pages`,
    };
  }
  const ids = [...new Set(source.documentIds)];
  const documents = await db.document.findMany({
    where: { id: { in: ids }, OR: [{ ownerId }, { ownerId: null }] },
    select: { id: true, title: true, text: true },
  });
  const byId = new Map(documents.map((document) => [document.id, document]));
  const items = ids.map((id, i) => {
    const document = byId.get(id);
    if (!document) throw new DomainError("document_not_found");
    const text = document.text.slice(0, BATCH_LIMITS.maxSourceChars).trim();
    if (!text)
      throw new DomainError("invalid_batch_file", {
        message: `${document.title} has no text to summarize.`,
      });
    return { position: i + 1, label: document.title.slice(0, LABEL_CHARS), text, documentId: id };
  });
  return {
    items,
    stored: { type: "documents", rows: items.length },
    title: `${items.length} ${items.length === 1 ? "summary" : "summaries"} of files`,
  };
}
