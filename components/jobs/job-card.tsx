"use client";

import Link from "next/link";
import { JobProgressBar } from "@/components/jobs/job-progress-bar";
import { JobStatusBadge } from "@/components/jobs/job-status-badge";
import { useLiveJob } from "@/components/jobs/use-live-job";
import { isTerminal } from "@/lib/jobs/schemas";
import { resultText } from "@/lib/jobs/view-model";

/**
 * A compact, live view of one job with a link to its permalink; the chat
 * shows one for every job it starts.
 */
export function JobCard({ id }: { id: string }) {
  const { job, status, progress, error } = useLiveJob(id);
  if (error) {
    return (
      <div
        role="status"
        className="rounded-lg border border-zinc-200 p-3 text-sm text-zinc-500 dark:border-zinc-800"
      >
        This job is not available.
      </div>
    );
  }
  if (!job || !status) {
    return (
      <div
        aria-busy="true"
        className="h-20 animate-pulse rounded-lg bg-zinc-100 dark:bg-zinc-900"
      />
    );
  }
  const text = status === "completed" ? resultText(job.result) : null;
  return (
    <article
      aria-label={`Job: ${job.title}`}
      data-testid="job-card"
      className="rounded-lg border border-zinc-200 p-3 dark:border-zinc-800"
    >
      <div className="flex items-start justify-between gap-3">
        <Link href={`/jobs/${job.id}`} className="min-w-0 font-medium break-words hover:underline">
          {job.title}
        </Link>
        <JobStatusBadge status={status} />
      </div>
      {!isTerminal(status) ? (
        <JobProgressBar
          className="mt-2"
          progress={progress}
          status={status}
          label={`Progress of ${job.title}`}
        />
      ) : null}
      {status === "failed" && job.errorMessage ? (
        <p className="mt-2 text-sm text-red-700 dark:text-red-400">{job.errorMessage}</p>
      ) : null}
      {text ? (
        <p className="mt-2 line-clamp-4 text-sm whitespace-pre-wrap text-zinc-700 dark:text-zinc-300">
          {text}
        </p>
      ) : null}
    </article>
  );
}
