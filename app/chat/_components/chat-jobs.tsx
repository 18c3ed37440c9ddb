"use client";

import { JobCard } from "@/components/jobs/job-card";
import type { ChatJob } from "./use-chat-jobs";

/** The live cards of the jobs started after one message of the conversation. */
export function ChatJobCards({ jobs }: { jobs: readonly ChatJob[] }) {
  return jobs.map((job) => (
    <li key={job.jobId} className="max-w-xl">
      <JobCard id={job.jobId} />
    </li>
  ));
}

/** Buttons that turn what is in the composer into a background job instead of a chat turn. */
export function JobShortcuts({
  disabled,
  onStart,
}: {
  disabled: boolean;
  onStart: (kind: "research" | "summarize") => void;
}) {
  const button =
    "rounded-md border border-zinc-300 px-2.5 py-1 text-xs font-medium text-zinc-700 hover:border-indigo-400 hover:text-indigo-700 disabled:opacity-50 dark:border-zinc-700 dark:text-zinc-300";
  return (
    <div className="mx-auto flex w-full max-w-3xl items-center gap-2 px-4 pt-2 text-xs text-zinc-500">
      <span>Run in the background:</span>
      <button
        type="button"
        className={button}
        disabled={disabled}
        onClick={() => onStart("research")}
      >
        Research this
      </button>
      <button
        type="button"
        className={button}
        disabled={disabled}
        onClick={() => onStart("summarize")}
      >
        Summarize this
      </button>
      <span className="hidden sm:inline">or type /research … or /summarize …</span>
    </div>
  );
}
