"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useId, useRef, useState } from "react";
import { cn } from "@/components/ui/cn";
import { newRequestId } from "@/lib/jobs/schemas";
import { useTRPC } from "@/lib/trpc/client";
import { BatchFields } from "./batch-fields";
import {
  initialJobFormState,
  readyToSubmit,
  toCreateJobInput,
  type FieldErrors,
  type JobFormState,
} from "./job-form-state";
import { NotifyFields } from "./notify-fields";
import { ResearchFields } from "./research-fields";
import { SummarizeFields } from "./summarize-fields";

const KIND_LABELS = {
  research: "Research a question",
  summarize: "Summarize",
  batch: "Many at once (batch)",
} as const;

/** The fields each part of the form shows its errors under; others are the form's. */
const SHOWN_FIELDS = new Set(["question", "source", "notifyEmail", "budget", "deadlineMinutes"]);

/** `rememberedEmail`: the address this owner gave last time, offered again. */
export function NewJobForm({ rememberedEmail = null }: { rememberedEmail?: string | null }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const ids = useId();
  const [state, setState] = useState<JobFormState>(() => initialJobFormState(rememberedEmail));
  // What the last submit found wrong before sending anything.
  const [localErrors, setLocalErrors] = useState<FieldErrors | null>(null);
  const submission = useRef<{ state: JobFormState; requestId: string } | null>(null);

  /** Changes one part of the form, merged into its latest value. */
  function update<K extends "research" | "summarize" | "batch" | "notify">(part: K) {
    return (patch: Partial<JobFormState[K]>) =>
      setState((current) => ({ ...current, [part]: { ...current[part], ...patch } }));
  }

  const create = useMutation(
    trpc.jobs.create.mutationOptions({
      onSuccess: async (job) => {
        await queryClient.invalidateQueries({ queryKey: trpc.jobs.list.pathKey() });
        router.push(`/jobs/${job.id}`);
      },
    }),
  );
  const fieldErrors: FieldErrors = localErrors ?? create.error?.data?.zodError?.fieldErrors ?? {};
  const unshown = Object.entries(fieldErrors)
    .filter(([field, messages]) => !SHOWN_FIELDS.has(field) && messages?.length)
    .flatMap(([, messages]) => messages ?? []);
  const formError = unshown.length
    ? unshown.join(" ")
    : create.error && !localErrors && Object.keys(fieldErrors).length === 0
      ? create.error.message
      : null;

  function submit(event: React.FormEvent) {
    event.preventDefault();
    const result = toCreateJobInput(state);
    if (!result.ok) {
      setLocalErrors(result.fieldErrors);
      return;
    }
    setLocalErrors(null);
    // One key per version of the form: the same form sent again (a double click, a retry
    // after a lost answer) is the same submission, and the server answers with the job the
    // first request created instead of starting the work twice.
    if (submission.current?.state !== state)
      submission.current = { state, requestId: newRequestId() };
    create.mutate({ ...result.input, requestId: submission.current.requestId });
  }

  const errorText = (key: string) => {
    const messages = fieldErrors[key];
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
                state.kind === option
                  ? "bg-white shadow-sm dark:bg-zinc-800"
                  : "text-zinc-600 dark:text-zinc-400",
              )}
            >
              <input
                type="radio"
                name="kind"
                value={option}
                checked={state.kind === option}
                onChange={() => setState((current) => ({ ...current, kind: option }))}
                className="sr-only"
              />
              {KIND_LABELS[option]}
            </label>
          ))}
        </div>
      </fieldset>

      {state.kind === "batch" ? (
        <BatchFields value={state.batch} onChange={update("batch")} errorText={errorText} />
      ) : state.kind === "research" ? (
        <ResearchFields
          value={state.research}
          onChange={update("research")}
          errorText={errorText}
        />
      ) : (
        <SummarizeFields
          value={state.summarize}
          onChange={update("summarize")}
          errorText={errorText}
        />
      )}

      <NotifyFields value={state.notify} onChange={update("notify")} errorText={errorText} />

      {formError ? (
        <p id={`${ids}-error`} role="alert" className="mt-4 text-sm text-red-700 dark:text-red-400">
          {formError}
        </p>
      ) : null}
      <button
        type="submit"
        disabled={create.isPending || !readyToSubmit(state)}
        className="mt-5 rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-500 focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2 focus-visible:outline-none disabled:opacity-60"
      >
        {create.isPending
          ? "Starting…"
          : state.kind === "research"
            ? "Start research"
            : state.kind === "batch"
              ? "Start the batch"
              : "Summarize"}
      </button>
    </form>
  );
}
