"use client";

import { useMutation } from "@tanstack/react-query";
import { useId, useState } from "react";
import type { InputRequest } from "@/lib/jobs/view-model";
import { useTRPC } from "@/lib/trpc/client";

/** "Needs your input": approve the research plan as it is, or edit it (one sub-question per line). */
export function InputRequestForm({
  id,
  token,
  request,
}: {
  id: string;
  token: string | null;
  request: InputRequest;
}) {
  const trpc = useTRPC();
  const ids = useId();
  const [plan, setPlan] = useState((request.plan ?? []).join("\n"));
  const respond = useMutation(trpc.jobs.respond.mutationOptions());
  const edited = plan
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  const changed = edited.join("\n") !== (request.plan ?? []).join("\n");

  return (
    <section
      aria-labelledby={`${ids}-heading`}
      data-testid="input-request"
      className="rounded-xl border border-amber-300 bg-amber-50 p-4 dark:border-amber-800 dark:bg-amber-950/40"
    >
      <h2 id={`${ids}-heading`} className="font-semibold text-amber-900 dark:text-amber-200">
        Needs your input
      </h2>
      <p className="mt-1 text-sm text-amber-900 dark:text-amber-200">{request.prompt}</p>
      <form
        className="mt-3"
        onSubmit={(event) => {
          event.preventDefault();
          respond.mutate({
            id,
            token,
            response:
              changed && edited.length > 0
                ? { action: "edit", plan: edited }
                : { action: "approve" },
          });
        }}
      >
        {request.plan ? (
          <>
            <label htmlFor={`${ids}-plan`} className="text-sm font-medium">
              Plan (one sub-question per line)
            </label>
            <textarea
              id={`${ids}-plan`}
              rows={Math.min(10, Math.max(3, edited.length + 1))}
              value={plan}
              onChange={(event) => setPlan(event.target.value)}
              className="mt-1 block w-full rounded-md border border-amber-300 bg-white px-3 py-2 text-sm dark:border-amber-800 dark:bg-zinc-900"
            />
          </>
        ) : null}
        {respond.error ? (
          <p role="alert" className="mt-2 text-sm text-red-700 dark:text-red-400">
            {respond.error.message}
          </p>
        ) : null}
        {respond.isSuccess ? (
          <p role="status" className="mt-2 text-sm text-amber-900 dark:text-amber-200">
            Thanks, the job continues.
          </p>
        ) : (
          <button
            type="submit"
            disabled={respond.isPending}
            className="mt-3 rounded-md bg-amber-600 px-4 py-2 text-sm font-medium text-white hover:bg-amber-500 disabled:opacity-60"
          >
            {changed ? "Continue with my edits" : "Approve plan"}
          </button>
        )}
      </form>
    </section>
  );
}
