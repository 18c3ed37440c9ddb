"use client";

import { useId } from "react";
import { BATCH_LIMITS } from "@/lib/jobs/schemas";
import {
  DocumentPicker,
  FieldError,
  fieldClass,
  OptionGroup,
  uploadDocument,
  type FieldGroupProps,
} from "./form-controls";
import type { BatchDraft } from "./job-form-state";
import { LimitsFields } from "./limits-fields";

const SOURCES = [
  ["table", "Rows of a CSV or JSONL file"],
  ["urls", "Web pages"],
  ["documents", "Files"],
] as const;

/** Each file into the owner's library through /api/uploads, one after another. */
async function uploadAll(
  files: File[],
): Promise<{ documentIds: string[]; names: string[] } | { error: string }> {
  const documentIds: string[] = [];
  const names: string[] = [];
  for (const file of files) {
    const result = await uploadDocument(file);
    if (!result.ok) {
      const reason = result.unreachable
        ? "the server could not be reached."
        : (result.message ?? "the upload failed.");
      return { error: `${file.name}: ${reason}` };
    }
    documentIds.push(result.documentId);
    names.push(result.title);
  }
  return { documentIds, names };
}

/**
 * The batch kind's part of the new-job form: a CSV or JSONL file read in
 * the browser (the server parses and checks it), the mode, and the limits.
 */
export function BatchFields({ value: draft, onChange, errorText }: FieldGroupProps<BatchDraft>) {
  const ids = useId();
  async function read(file: File) {
    const format = /\.jsonl$|\.ndjson$/i.test(file.name) ? "jsonl" : "csv";
    if (file.size > BATCH_LIMITS.maxTableBytes) {
      onChange({ file: null, fileError: "The file is larger than 10 MB." });
      return;
    }
    onChange({
      file: { name: file.name, format, content: await file.text() },
      fileError: null,
    });
  }
  async function upload(files: File[]) {
    if (files.length > BATCH_LIMITS.maxSources) {
      onChange({ fileError: `At most ${BATCH_LIMITS.maxSources} files per job.` });
      return;
    }
    onChange({
      fileError: null,
      uploads: { state: "uploading", documentIds: [], names: [] },
    });
    const result = await uploadAll(files);
    if ("error" in result)
      onChange({
        fileError: result.error,
        uploads: { state: "idle", documentIds: [], names: [] },
      });
    else onChange({ fileError: null, uploads: { state: "done", ...result } });
  }
  const sourceError = draft.fileError ?? errorText("source");
  return (
    <div className="mt-4 space-y-4">
      <OptionGroup
        legend="What to summarize, one summary each"
        name="batch-source"
        options={SOURCES}
        value={draft.source}
        onChange={(source) => onChange({ source, fileError: null })}
      />
      {draft.source === "urls" ? (
        <div>
          <label htmlFor={`${ids}-urls`} className="text-sm font-medium">
            URLs, one per line
          </label>
          <textarea
            id={`${ids}-urls`}
            rows={5}
            value={draft.urls}
            onChange={(event) => onChange({ urls: event.target.value })}
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
          <DocumentPicker
            id={`${ids}-files`}
            multiple
            labelClassName="text-sm font-medium"
            className="mt-1 block text-sm"
            disabled={draft.uploads.state === "uploading"}
            onFiles={(files) => void upload(files)}
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
      <FieldError alert messages={sourceError} />
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
              onChange={() => onChange({ mode: "economy" })}
            />
            Economy: the provider&apos;s batch API, half the price, done within 24 hours (usually
            within an hour)
          </label>
          <label className="flex items-center gap-2">
            <input
              type="radio"
              name="batch-mode"
              checked={draft.mode === "now"}
              onChange={() => onChange({ mode: "now" })}
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
              onChange({ retry: event.target.value === "live" ? "live" : "batch" })
            }
            className={fieldClass}
          >
            <option value="batch">In a new batch (cheaper, slower)</option>
            <option value="live">Live (faster, full price)</option>
          </select>
        </div>
      ) : null}
      <LimitsFields value={draft} onChange={onChange} errorText={errorText} />
    </div>
  );
}
