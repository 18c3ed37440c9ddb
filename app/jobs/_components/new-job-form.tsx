"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useId, useState } from "react";
import { z } from "zod";
import { cn } from "@/components/ui/cn";
import type { CreateJobInput } from "@/lib/jobs/schemas";
import { useTRPC } from "@/lib/trpc/client";
import { BatchFields, batchSourceOf, emptyBatchDraft, type BatchDraft } from "./batch-fields";

type Kind = "research" | "summarize" | "batch";
type SourceType = "url" | "text" | "file";

const fieldClass =
  "mt-1 block w-full rounded-md border border-zinc-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/30 focus:outline-none dark:border-zinc-700 dark:bg-zinc-900";

const ACCEPT =
  ".pdf,.md,.markdown,.txt,.html,.htm,application/pdf,text/plain,text/markdown,text/html";

type Upload =
  | { state: "idle" }
  | { state: "uploading"; name: string }
  | { state: "done"; documentId: string; title: string }
  | { state: "failed"; message: string };

const uploadResponseSchema = z.object({ documentId: z.uuid(), title: z.string() });
const uploadErrorSchema = z.object({ error: z.object({ message: z.string() }) });

/** Sends the file to `/api/uploads`, which stores its text in the owner's library. */
function UploadSlot({ upload, onChange }: { upload: Upload; onChange: (upload: Upload) => void }) {
  const id = useId();
  async function send(file: File) {
    onChange({ state: "uploading", name: file.name });
    const form = new FormData();
    form.set("file", file);
    try {
      const response = await fetch("/api/uploads", { method: "POST", body: form });
      const body: unknown = await response.json().catch(() => null);
      const ok = uploadResponseSchema.safeParse(body);
      if (response.ok && ok.success) {
        onChange({ state: "done", documentId: ok.data.documentId, title: ok.data.title });
        return;
      }
      const failed = uploadErrorSchema.safeParse(body);
      onChange({
        state: "failed",
        message: failed.success
          ? failed.data.error.message
          : "The upload failed. Please try again.",
      });
    } catch {
      onChange({ state: "failed", message: "The upload failed: the server could not be reached." });
    }
  }
  return (
    <div className="mt-3 rounded-md border border-dashed border-zinc-300 p-4 text-sm text-zinc-600 dark:border-zinc-700 dark:text-zinc-400">
      <label htmlFor={`${id}-file`} className="block font-medium text-zinc-800 dark:text-zinc-200">
        File (PDF, Markdown, plain text, HTML)
      </label>
      <input
        id={`${id}-file`}
        type="file"
        accept={ACCEPT}
        className="mt-2 block text-sm"
        aria-describedby={`${id}-status`}
        disabled={upload.state === "uploading"}
        onChange={(event) => {
          const file = event.target.files?.[0];
          if (file) void send(file);
        }}
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
      {upload.state === "failed" ? (
        <p role="alert" className="mt-1 text-red-700 dark:text-red-400">
          {upload.message}
        </p>
      ) : null}
    </div>
  );
}

/** `rememberedEmail`: the address this owner gave last time, offered again. */
export function NewJobForm({ rememberedEmail = null }: { rememberedEmail?: string | null }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const ids = useId();
  const [kind, setKind] = useState<Kind>("research");
  const [sourceType, setSourceType] = useState<SourceType>("url");
  const [question, setQuestion] = useState("");
  const [approvePlan, setApprovePlan] = useState(false);
  const [economy, setEconomy] = useState(false);
  const [url, setUrl] = useState("");
  const [text, setText] = useState("");
  const [notify, setNotify] = useState(false);
  const [email, setEmail] = useState(rememberedEmail ?? "");
  const [upload, setUpload] = useState<Upload>({ state: "idle" });
  const [batch, setBatch] = useState<BatchDraft>(emptyBatchDraft);

  const create = useMutation(
    trpc.jobs.create.mutationOptions({
      onSuccess: async (job) => {
        await queryClient.invalidateQueries({ queryKey: trpc.jobs.list.pathKey() });
        router.push(`/jobs/${job.id}`);
      },
    }),
  );
  const fieldErrors = create.error?.data?.zodError?.fieldErrors ?? {};
  const formError =
    create.error && Object.keys(fieldErrors).length === 0 ? create.error.message : null;

  function submit(event: React.FormEvent) {
    event.preventDefault();
    const notifyEmail = notify && email.trim() ? email.trim() : undefined;
    let input: CreateJobInput;
    if (kind === "batch") {
      const source = batchSourceOf(batch);
      if (!source) return;
      input = {
        kind,
        mode: batch.mode,
        retry: batch.retry,
        source,
        budget: batch.budget.trim() || undefined,
        deadlineMinutes: batch.deadlineMinutes ? Number(batch.deadlineMinutes) : undefined,
        notifyEmail,
      };
    } else if (kind === "research") input = { kind, question, approvePlan, economy, notifyEmail };
    else if (sourceType === "url")
      input = { kind, source: { type: "url", url: url.trim() }, notifyEmail };
    else if (sourceType === "text") input = { kind, source: { type: "text", text }, notifyEmail };
    else if (upload.state === "done")
      input = { kind, source: { type: "document", documentId: upload.documentId }, notifyEmail };
    else return;
    create.mutate(input);
  }

  const errorText = (key: string) => {
    const messages = (fieldErrors as Record<string, string[] | undefined>)[key];
    return messages?.length ? messages.join(" ") : null;
  };

  return (
    <form
      onSubmit={submit}
      aria-describedby={formError ? `${ids}-error` : undefined}
      className="mt-4 rounded-xl border border-zinc-200 p-4 sm:p-6 dark:border-zinc-800"
    >
      <fieldset>
        <legend className="text-sm font-medium">Kind of job</legend>
        <div className="mt-2 inline-flex rounded-lg bg-zinc-100 p-1 dark:bg-zinc-900">
          {(["research", "summarize", "batch"] as const).map((option) => (
            <label
              key={option}
              className={cn(
                "cursor-pointer rounded-md px-3 py-1.5 text-sm font-medium has-[:focus-visible]:ring-2 has-[:focus-visible]:ring-indigo-500",
                kind === option
                  ? "bg-white shadow-sm dark:bg-zinc-800"
                  : "text-zinc-600 dark:text-zinc-400",
              )}
            >
              <input
                type="radio"
                name="kind"
                value={option}
                checked={kind === option}
                onChange={() => setKind(option)}
                className="sr-only"
              />
              {option === "research"
                ? "Research a question"
                : option === "summarize"
                  ? "Summarize"
                  : "Many at once (batch)"}
            </label>
          ))}
        </div>
      </fieldset>

      {kind === "batch" ? (
        <BatchFields draft={batch} onChange={setBatch} errorText={errorText} />
      ) : kind === "research" ? (
        <div className="mt-4">
          <label htmlFor={`${ids}-question`} className="text-sm font-medium">
            Question
          </label>
          <textarea
            id={`${ids}-question`}
            required
            rows={3}
            value={question}
            onChange={(event) => setQuestion(event.target.value)}
            placeholder="How does PostgreSQL decide when to vacuum a table?"
            aria-invalid={errorText("question") ? true : undefined}
            aria-describedby={errorText("question") ? `${ids}-question-error` : undefined}
            className={fieldClass}
          />
          {errorText("question") ? (
            <p id={`${ids}-question-error`} className="mt-1 text-sm text-red-700 dark:text-red-400">
              {errorText("question")}
            </p>
          ) : null}
          <label className="mt-3 flex items-center gap-2 text-sm">
            <input
              type="checkbox"
              checked={approvePlan}
              onChange={(event) => setApprovePlan(event.target.checked)}
            />
            Let me approve or edit the research plan before it searches
          </label>
          <label className="mt-2 flex items-center gap-2 text-sm">
            <input
              type="checkbox"
              checked={economy}
              onChange={(event) => setEconomy(event.target.checked)}
            />
            Economy: condense the sources through the provider&apos;s batch API (half the price; the
            report can take hours, up to 24)
          </label>
        </div>
      ) : (
        <div className="mt-4">
          <fieldset>
            <legend className="text-sm font-medium">What to summarize</legend>
            <div className="mt-2 flex flex-wrap gap-4 text-sm">
              {(
                [
                  ["url", "A web page (URL)"],
                  ["text", "Pasted text"],
                  ["file", "A file"],
                ] as const
              ).map(([value, label]) => (
                <label key={value} className="flex items-center gap-2">
                  <input
                    type="radio"
                    name="source"
                    value={value}
                    checked={sourceType === value}
                    onChange={() => setSourceType(value)}
                  />
                  {label}
                </label>
              ))}
            </div>
          </fieldset>
          {sourceType === "url" ? (
            <div className="mt-3">
              <label htmlFor={`${ids}-url`} className="text-sm font-medium">
                URL
              </label>
              <input
                id={`${ids}-url`}
                type="url"
                required
                inputMode="url"
                value={url}
                onChange={(event) => setUrl(event.target.value)}
                placeholder="https://example.org/article"
                className={fieldClass}
              />
            </div>
          ) : sourceType === "text" ? (
            <div className="mt-3">
              <label htmlFor={`${ids}-text`} className="text-sm font-medium">
                Text
              </label>
              <textarea
                id={`${ids}-text`}
                required
                rows={8}
                value={text}
                onChange={(event) => setText(event.target.value)}
                className={fieldClass}
              />
            </div>
          ) : (
            <UploadSlot upload={upload} onChange={setUpload} />
          )}
          {errorText("source") ? (
            <p className="mt-1 text-sm text-red-700 dark:text-red-400">{errorText("source")}</p>
          ) : null}
        </div>
      )}

      <div className="mt-4">
        <label className="flex items-center gap-2 text-sm">
          <input
            type="checkbox"
            checked={notify}
            onChange={(event) => setNotify(event.target.checked)}
          />
          Email me when it is done
        </label>
        {notify ? (
          <div className="mt-2 max-w-sm">
            <label htmlFor={`${ids}-email`} className="sr-only">
              Email address
            </label>
            <input
              id={`${ids}-email`}
              type="email"
              autoComplete="email"
              required
              value={email}
              onChange={(event) => setEmail(event.target.value)}
              placeholder="you@example.org"
              aria-invalid={errorText("notifyEmail") ? true : undefined}
              className={fieldClass}
            />
            {errorText("notifyEmail") ? (
              <p className="mt-1 text-sm text-red-700 dark:text-red-400">
                {errorText("notifyEmail")}
              </p>
            ) : null}
          </div>
        ) : null}
      </div>

      {formError ? (
        <p id={`${ids}-error`} role="alert" className="mt-4 text-sm text-red-700 dark:text-red-400">
          {formError}
        </p>
      ) : null}
      <button
        type="submit"
        disabled={
          create.isPending ||
          (kind === "summarize" && sourceType === "file" && upload.state !== "done") ||
          (kind === "batch" && !batchSourceOf(batch))
        }
        className="mt-5 rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-500 focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2 focus-visible:outline-none disabled:opacity-60"
      >
        {create.isPending
          ? "Starting…"
          : kind === "research"
            ? "Start research"
            : kind === "batch"
              ? "Start the batch"
              : "Summarize"}
      </button>
    </form>
  );
}
