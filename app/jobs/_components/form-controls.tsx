/**
 * What the new-job form's field groups share: the input style, a field's
 * error line, a group of radio options, and the upload of one file to the
 * owner's library (`/api/uploads`).
 */
import { z } from "zod";

export const fieldClass =
  "mt-1 block w-full rounded-md border border-zinc-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/30 focus:outline-none dark:border-zinc-700 dark:bg-zinc-900";

/** The documents an upload may hold (the server types them by their bytes). */
const DOCUMENT_ACCEPT =
  ".pdf,.md,.markdown,.txt,.html,.htm,application/pdf,text/plain,text/markdown,text/html";

/**
 * What each part of the form takes: its value, a patch merged into the
 * latest value (so an upload that ends late changes only its own part), and
 * the messages for a field, from the form's own check or the server's.
 */
export interface FieldGroupProps<T> {
  value: T;
  onChange: (patch: Partial<T>) => void;
  errorText: (field: string) => string | null;
}

/** A label above its control. */
export function Labeled({
  htmlFor,
  label,
  className = "mt-3",
  children,
}: {
  htmlFor: string;
  label: string;
  className?: string;
  children: React.ReactNode;
}) {
  return (
    <div className={className}>
      <label htmlFor={htmlFor} className="text-sm font-medium">
        {label}
      </label>
      {children}
    </div>
  );
}

/** A file input for documents (PDF, Markdown, plain text, HTML), with its label. */
export function DocumentPicker({
  id,
  multiple = false,
  disabled,
  describedBy,
  className,
  labelClassName,
  onFiles,
}: {
  id: string;
  multiple?: boolean;
  disabled: boolean;
  describedBy?: string;
  className: string;
  labelClassName: string;
  onFiles: (files: File[]) => void;
}) {
  return (
    <>
      <label htmlFor={id} className={labelClassName}>
        {multiple ? "Files" : "File"} (PDF, Markdown, plain text, HTML)
      </label>
      <input
        id={id}
        type="file"
        multiple={multiple}
        accept={DOCUMENT_ACCEPT}
        className={className}
        aria-describedby={describedBy}
        disabled={disabled}
        onChange={(event) => {
          const files = [...(event.target.files ?? [])];
          if (files.length > 0) onFiles(files);
        }}
      />
    </>
  );
}

/** A field's messages, or nothing when it has none. */
export function FieldError({
  id,
  messages,
  alert = false,
}: {
  id?: string;
  messages: string | null;
  alert?: boolean;
}) {
  if (!messages) return null;
  return (
    <p
      id={id}
      role={alert ? "alert" : undefined}
      className="mt-1 text-sm text-red-700 dark:text-red-400"
    >
      {messages}
    </p>
  );
}

/** Radio buttons for one choice, each a `[value, label]`. */
export function OptionGroup<T extends string>({
  legend,
  name,
  options,
  value,
  onChange,
}: {
  legend: string;
  name: string;
  options: ReadonlyArray<readonly [T, string]>;
  value: T;
  onChange: (value: T) => void;
}) {
  return (
    <fieldset>
      <legend className="text-sm font-medium">{legend}</legend>
      <div className="mt-2 flex flex-wrap gap-4 text-sm">
        {options.map(([option, label]) => (
          <label key={option} className="flex items-center gap-2">
            <input
              type="radio"
              name={name}
              value={option}
              checked={value === option}
              onChange={() => onChange(option)}
            />
            {label}
          </label>
        ))}
      </div>
    </fieldset>
  );
}

const uploadResponseSchema = z.object({ documentId: z.uuid(), title: z.string() });
const uploadErrorSchema = z.object({ error: z.object({ message: z.string() }) });

/** An upload's outcome; a refusal carries the server's message when it sent one. */
export type UploadResult =
  | { ok: true; documentId: string; title: string }
  | { ok: false; unreachable: boolean; message: string | null };

/** Sends one file to `/api/uploads`, which stores its text in the owner's library. */
export async function uploadDocument(file: File): Promise<UploadResult> {
  const form = new FormData();
  form.set("file", file);
  try {
    const response = await fetch("/api/uploads", { method: "POST", body: form });
    const body: unknown = await response.json().catch(() => null);
    const ok = uploadResponseSchema.safeParse(body);
    if (response.ok && ok.success) return { ok: true, ...ok.data };
    const failed = uploadErrorSchema.safeParse(body);
    return {
      ok: false,
      unreachable: false,
      message: failed.success ? failed.data.error.message : null,
    };
  } catch {
    return { ok: false, unreachable: true, message: null };
  }
}
