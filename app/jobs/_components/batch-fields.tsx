"use client";

import { useId } from "react";
import { z } from "zod";
import { BATCH_LIMITS, type BatchMode, type CreateJobInput } from "@/lib/jobs/schemas";

type BatchSourceType = "table" | "urls" | "documents";

export interface BatchDraft {
  source: BatchSourceType;
  file: { name: string; format: "csv" | "jsonl"; content: string } | null;
  urls: string;
  uploads: { state: "idle" | "uploading" | "done"; documentIds: string[]; names: string[] };
  fileError: string | null;
  mode: BatchMode;
  retry: "batch" | "live";
  budget: string;
  deadlineMinutes: string;
}

export const emptyBatchDraft: BatchDraft = {
  source: "table",
  file: null,
  urls: "",
  uploads: { state: "idle", documentIds: [], names: [] },
  fileError: null,
  mode: "economy",
  retry: "batch",
  budget: "",
  deadlineMinutes: "",
};

type BatchSource = Extract<CreateJobInput, { kind: "batch" }>["source"];

/** The source the draft describes, or null while it is not ready to submit. */
export function batchSourceOf(draft: BatchDraft): BatchSource | null {
  if (draft.source === "table") {
    if (!draft.file) return null;
    return {
      type: "table",
      format: draft.file.format,
      fileName: draft.file.name,
      content: draft.file.content,
    };
  }
  if (draft.source === "urls") {
    const urls = draft.urls
      .split(/\s+/)
      .map((url) => url.trim())
      .filter(Boolean);
    return urls.length > 0 ? { type: "urls", urls } : null;
  }
  return draft.uploads.state === "done" && draft.uploads.documentIds.length > 0
    ? { type: "documents", documentIds: draft.uploads.documentIds }
    : null;
}

const uploadResponseSchema = z.object({ documentId: z.uuid(), title: z.string() });
const uploadErrorSchema = z.object({ error: z.object({ message: z.string() }) });

/** Each file into the owner's library through /api/uploads, one after another. */
async function uploadAll(
  files: File[],
): Promise<{ documentIds: string[]; names: string[] } | { error: string }> {
  const documentIds: string[] = [];
  const names: string[] = [];
  for (const file of files) {
    const form = new FormData();
    form.set("file", file);
    try {
      const response = await fetch("/api/uploads", { method: "POST", body: form });
      const body: unknown = await response.json().catch(() => null);
      const ok = uploadResponseSchema.safeParse(body);
      if (!response.ok || !ok.success) {
        const failed = uploadErrorSchema.safeParse(body);
        return {
          error: `${file.name}: ${failed.success ? failed.data.error.message : "the upload failed."}`,
        };
      }
      documentIds.push(ok.data.documentId);
      names.push(ok.data.title);
    } catch {
      return { error: `${file.name}: the server could not be reached.` };
    }
  }
  return { documentIds, names };
}

const fieldClass =
  "mt-1 block w-full rounded-md border border-zinc-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/30 focus:outline-none dark:border-zinc-700 dark:bg-zinc-900";

/**
 * The batch kind's part of the new-job form: a CSV or JSONL file read in
 * the browser (the server parses and checks it), the mode, and the limits.
 */
export function BatchFields({
  draft,
  onChange,
  errorText,
}: {
  draft: BatchDraft;
  onChange: (draft: BatchDraft) => void;
  errorText: (key: string) => string | null;
}) {
  const ids = useId();
  async function read(file: File) {
    const format = /\.jsonl$|\.ndjson$/i.test(file.name) ? "jsonl" : "csv";
    if (file.size > BATCH_LIMITS.maxTableBytes) {
      onChange({ ...draft, file: null, fileError: "The file is larger than 10 MB." });
      return;
    }
    onChange({
      ...draft,
      file: { name: file.name, format, content: await file.text() },
      fileError: null,
    });
  }
  async function upload(files: File[]) {
    if (files.length > BATCH_LIMITS.maxSources) {
      onChange({ ...draft, fileError: `At most ${BATCH_LIMITS.maxSources} files per job.` });
      return;
    }
    onChange({
      ...draft,
      fileError: null,
      uploads: { state: "uploading", documentIds: [], names: [] },
    });
    const result = await uploadAll(files);
    if ("error" in result)
      onChange({
        ...draft,
        fileError: result.error,
        uploads: { state: "idle", documentIds: [], names: [] },
      });
    else onChange({ ...draft, fileError: null, uploads: { state: "done", ...result } });
  }
  const sourceError = draft.fileError ?? errorText("source");
  return (
    <div className="mt-4 space-y-4">
      <fieldset>
        <legend className="text-sm font-medium">What to summarize, one summary each</legend>
        <div className="mt-2 flex flex-wrap gap-4 text-sm">
          {(
            [
              ["table", "Rows of a CSV or JSONL file"],
              ["urls", "Web pages"],
              ["documents", "Files"],
            ] as const
          ).map(([value, label]) => (
            <label key={value} className="flex items-center gap-2">
              <input
                type="radio"
                name="batch-source"
                checked={draft.source === value}
                onChange={() => onChange({ ...draft, source: value, fileError: null })}
              />
              {label}
            </label>
          ))}
        </div>
      </fieldset>
      {draft.source === "urls" ? (
        <div>
          <label htmlFor={`${ids}-urls`} className="text-sm font-medium">
            URLs, one per line
          </label>
          <textarea
            id={`${ids}-urls`}
            rows={5}
            value={draft.urls}
            onChange={(event) => onChange({ ...draft, urls: event.target.value })}
            placeholder={"https://example.org/one\nhttps://example.org/two"}
            className={fieldClass}
          />
          <p className="mt-1 text-sm text-zinc-500">
            Up to {BATCH_LIMITS.maxSources} pages; each is summarized from its first{" "}
            {BATCH_LIMITS.maxSourceChars.toLocaleString("en")} characters.
          </p>
        </div>
      ) : draft.source === "documents" ? (
        <div>
          <label htmlFor={`${ids}-files`} className="text-sm font-medium">
            Files (PDF, Markdown, plain text, HTML)
          </label>
          <input
            id={`${ids}-files`}
            type="file"
            multiple
            accept=".pdf,.md,.markdown,.txt,.html,.htm,application/pdf,text/plain,text/markdown,text/html"
            className="mt-1 block text-sm"
            disabled={draft.uploads.state === "uploading"}
            onChange={(event) => {
              const files = [...(event.target.files ?? [])];
              if (files.length > 0) void upload(files);
            }}
          />
          <p role="status" className="mt-1 text-sm text-zinc-500">
            {draft.uploads.state === "uploading"
              ? "Uploading…"
              : draft.uploads.state === "done"
                ? `Ready: ${draft.uploads.names.join(", ")}`
                : `Up to ${BATCH_LIMITS.maxSources} files of 25 MB; each is summarized from its first ${BATCH_LIMITS.maxSourceChars.toLocaleString("en")} characters and kept in your library.`}
          </p>
        </div>
      ) : null}
      {sourceError ? (
        <p role="alert" className="mt-1 text-sm text-red-700 dark:text-red-400">
          {sourceError}
        </p>
      ) : null}
      <div hidden={draft.source !== "table"}>
        <label htmlFor={`${ids}-file`} className="text-sm font-medium">
          CSV or JSONL file, one text per row
        </label>
        <input
          id={`${ids}-file`}
          type="file"
          accept=".csv,.jsonl,.ndjson,text/csv,application/x-ndjson"
          className="mt-1 block text-sm"
          aria-describedby={`${ids}-file-help`}
          onChange={(event) => {
            const file = event.target.files?.[0];
            if (file) void read(file);
          }}
        />
        <p id={`${ids}-file-help`} className="mt-1 text-sm text-zinc-500">
          Up to {BATCH_LIMITS.maxRows.toLocaleString("en")} rows and 10 MB; each text up to{" "}
          {BATCH_LIMITS.maxItemChars.toLocaleString("en")} characters. CSV: a header row; the{" "}
          <code>text</code> column (else the first) is summarized, a <code>title</code> or{" "}
          <code>id</code> column names the row. JSONL: a string or {"{"}&quot;text&quot;: …{"}"} per
          line.
        </p>
        {draft.file ? (
          <p role="status" className="mt-1 text-sm">
            Ready: {draft.file.name}
          </p>
        ) : null}
      </div>
      <fieldset>
        <legend className="text-sm font-medium">When</legend>
        <div className="mt-2 space-y-1 text-sm">
          <label className="flex items-center gap-2">
            <input
              type="radio"
              name="batch-mode"
              checked={draft.mode === "economy"}
              onChange={() => onChange({ ...draft, mode: "economy" })}
            />
            Economy: the provider&apos;s batch API, half the price, done within 24 hours (usually
            within an hour)
          </label>
          <label className="flex items-center gap-2">
            <input
              type="radio"
              name="batch-mode"
              checked={draft.mode === "now"}
              onChange={() => onChange({ ...draft, mode: "now" })}
            />
            Now: live calls, a few at a time, full price
          </label>
        </div>
      </fieldset>
      {draft.mode === "economy" ? (
        <div className="max-w-sm">
          <label htmlFor={`${ids}-retry`} className="text-sm font-medium">
            Retry failed items
          </label>
          <select
            id={`${ids}-retry`}
            value={draft.retry}
            onChange={(event) =>
              onChange({ ...draft, retry: event.target.value === "live" ? "live" : "batch" })
            }
            className={fieldClass}
          >
            <option value="batch">In a new batch (cheaper, slower)</option>
            <option value="live">Live (faster, full price)</option>
          </select>
        </div>
      ) : null}
      <div className="flex flex-wrap gap-4">
        <div className="w-40">
          <label htmlFor={`${ids}-budget`} className="text-sm font-medium">
            Budget in USD (optional)
          </label>
          <input
            id={`${ids}-budget`}
            inputMode="decimal"
            value={draft.budget}
            onChange={(event) => onChange({ ...draft, budget: event.target.value })}
            placeholder="2.50"
            className={fieldClass}
          />
          {errorText("budget") ? (
            <p className="mt-1 text-sm text-red-700 dark:text-red-400">{errorText("budget")}</p>
          ) : null}
        </div>
        <div className="w-48">
          <label htmlFor={`${ids}-deadline`} className="text-sm font-medium">
            Deadline in minutes (optional)
          </label>
          <input
            id={`${ids}-deadline`}
            type="number"
            min={1}
            max={48 * 60}
            value={draft.deadlineMinutes}
            onChange={(event) => onChange({ ...draft, deadlineMinutes: event.target.value })}
            className={fieldClass}
          />
        </div>
      </div>
      <p className="text-sm text-zinc-500">
        The budget is a hard cap: only work that cannot exceed it at its worst-case price starts. At
        the budget or the deadline the job completes with what it has, marked partial.
      </p>
    </div>
  );
}
