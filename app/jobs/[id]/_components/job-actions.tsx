"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { JobDetail } from "@/components/jobs/use-live-job";
import { isTerminal, type JobStatus } from "@/lib/jobs/schemas";
import { useTRPC } from "@/lib/trpc/client";

const buttonClass =
  "rounded-md border border-zinc-300 px-3 py-1.5 text-sm font-medium hover:bg-zinc-100 disabled:opacity-60 dark:border-zinc-700 dark:hover:bg-zinc-800";

export function JobActions({
  job,
  status,
  token,
}: {
  job: JobDetail;
  status: JobStatus;
  token: string | null;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [notice, setNotice] = useState("");
  const refresh = () =>
    queryClient.invalidateQueries({ queryKey: trpc.jobs.byId.queryKey({ id: job.id, token }) });
  const cancel = useMutation(trpc.jobs.cancel.mutationOptions({ onSettled: refresh }));
  const share = useMutation(
    trpc.jobs.setShare.mutationOptions({
      onSuccess: (result) =>
        setNotice(
          result.shareEnabled
            ? "Anyone with the link can now view this job."
            : "Only you can view this job now.",
        ),
      onSettled: refresh,
    }),
  );

  async function copyLink() {
    // The plain permalink: an email's token stays with whoever received it.
    const link = `${window.location.origin}/jobs/${job.id}`;
    try {
      await navigator.clipboard.writeText(link);
      setNotice(
        job.shareEnabled || !job.isOwner
          ? "Link copied."
          : "Link copied. Only you can open it until you turn sharing on.",
      );
    } catch {
      setNotice(`Copy this link: ${link}`);
    }
  }

  return (
    <div className="flex flex-wrap items-center gap-2">
      <button type="button" onClick={() => void copyLink()} className={buttonClass}>
        Copy link
      </button>
      {job.isOwner ? (
        <label className="flex items-center gap-2 rounded-md border border-zinc-300 px-3 py-1.5 text-sm dark:border-zinc-700">
          <input
            type="checkbox"
            role="switch"
            aria-checked={job.shareEnabled}
            checked={job.shareEnabled}
            disabled={share.isPending}
            onChange={(event) => share.mutate({ id: job.id, enabled: event.target.checked })}
          />
          Public link
        </label>
      ) : null}
      {job.canAct && !isTerminal(status) ? (
        <button
          type="button"
          onClick={() => cancel.mutate({ id: job.id, token })}
          disabled={cancel.isPending || cancel.isSuccess}
          className={`${buttonClass} border-red-300 text-red-700 hover:bg-red-50 dark:border-red-800 dark:text-red-400 dark:hover:bg-red-950`}
        >
          {cancel.isPending ? "Cancelling…" : cancel.isSuccess ? "Cancel requested" : "Cancel job"}
        </button>
      ) : null}
      <p role="status" className="w-full text-sm text-zinc-600 empty:hidden dark:text-zinc-400">
        {cancel.error?.message ?? share.error?.message ?? notice}
      </p>
    </div>
  );
}
