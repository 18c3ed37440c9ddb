"use client";

import { useId } from "react";
import {
  DocumentPicker,
  FieldError,
  fieldClass,
  Labeled,
  OptionGroup,
  uploadDocument,
  type FieldGroupProps,
} from "./form-controls";
import type { JobFormState, Upload } from "./job-form-state";

type Summarize = JobFormState["summarize"];

const SOURCES = [
  ["url", "A web page (URL)"],
  ["text", "Pasted text"],
  ["file", "A file"],
] as const;

/** The file to summarize, uploaded to the owner's library as soon as it is chosen. */
function UploadSlot({ upload, onChange }: { upload: Upload; onChange: (upload: Upload) => void }) {
  const id = useId();
  async function send(file: File) {
    onChange({ state: "uploading", name: file.name });
    const result = await uploadDocument(file);
    if (result.ok) {
      onChange({ state: "done", documentId: result.documentId, title: result.title });
      return;
    }
    onChange({
      state: "failed",
      message: result.unreachable
        ? "The upload failed: the server could not be reached."
        : (result.message ?? "The upload failed. Please try again."),
    });
  }
  return (
    <div className="mt-3 rounded-md border border-dashed border-zinc-300 p-4 text-sm text-zinc-600 dark:border-zinc-700 dark:text-zinc-400">
      <DocumentPicker
        id={`${id}-file`}
        labelClassName="block font-medium text-zinc-800 dark:text-zinc-200"
        className="mt-2 block text-sm"
        describedBy={`${id}-status`}
        disabled={upload.state === "uploading"}
        onFiles={([file]) => void send(file!)}
      />
      <p id={`${id}-status`} className="mt-2" role="status">
        {upload.state === "uploading"
          ? `Uploading ${upload.name}…`
          : upload.state === "done"
            ? `Ready: ${upload.title}`
            : upload.state === "failed"
              ? null
              : "Up to 25 MB. The file is kept in your library, so research can use it too."}
      </p>
      <FieldError alert messages={upload.state === "failed" ? upload.message : null} />
    </div>
  );
}

/** The summarize kind's part of the new-job form: a web page, pasted text or a file. */
export function SummarizeFields({ value, onChange, errorText }: FieldGroupProps<Summarize>) {
  const ids = useId();
  return (
    <div className="mt-4">
      <OptionGroup
        legend="What to summarize"
        name="source"
        options={SOURCES}
        value={value.source}
        onChange={(source) => onChange({ source })}
      />
      {value.source === "url" ? (
        <Labeled htmlFor={`${ids}-url`} label="URL">
          <input
            id={`${ids}-url`}
            type="url"
            required
            inputMode="url"
            value={value.url}
            onChange={(event) => onChange({ url: event.target.value })}
            placeholder="https://example.org/article"
            className={fieldClass}
          />
        </Labeled>
      ) : value.source === "text" ? (
        <Labeled htmlFor={`${ids}-text`} label="Text">
          <textarea
            id={`${ids}-text`}
            required
            rows={8}
            value={value.text}
            onChange={(event) => onChange({ text: event.target.value })}
            className={fieldClass}
          />
        </Labeled>
      ) : (
        <UploadSlot upload={value.upload} onChange={(upload) => onChange({ upload })} />
      )}
      <FieldError messages={errorText("source")} />
    </div>
  );
}
