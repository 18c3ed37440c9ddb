"use client";

import { useSuspenseInfiniteQuery } from "@tanstack/react-query";
import Link from "next/link";
import { JobProgressBar } from "@/components/jobs/job-progress-bar";
import { JobStatusBadge } from "@/components/jobs/job-status-badge";
import { cn } from "@/components/ui/cn";
import { LocalTime } from "@/components/ui/local-time";
import { formatMicros } from "@/lib/ai/pricing";
import { isTerminal, JOBS_PAGE_SIZE, jobStatuses, type JobStatus } from "@/lib/jobs/schemas";
import { statusLabels } from "@/lib/jobs/view-model";
import { useTRPC } from "@/lib/trpc/client";

// While a job on screen is unfinished, the list refreshes now and then; each job's page is live.
const ACTIVE_REFRESH_MS = 5000;

function StatusFilter({ status }: { status: JobStatus | undefined }) {
  const options: Array<JobStatus | undefined> = [undefined, ...jobStatuses];
  return (
    <nav aria-label="Filter jobs by status" className="mt-4 flex flex-wrap gap-2">
      {options.map((option) => {
        const active = option === status;
        return (
          <Link
            key={option ?? "all"}
            href={option ? { pathname: "/jobs", query: { status: option } } : { pathname: "/jobs" }}
            aria-current={active ? "page" : undefined}
            className={cn(
              "rounded-full px-3 py-1 text-sm ring-1 ring-inset",
              active
                ? "bg-indigo-600 text-white ring-indigo-600"
                : "text-zinc-700 ring-zinc-300 hover:bg-zinc-100 dark:text-zinc-300 dark:ring-zinc-700 dark:hover:bg-zinc-800",
            )}
          >
            {option ? statusLabels[option] : "All"}
          </Link>
        );
      })}
    </nav>
  );
}

export function JobsList({ status }: { status: JobStatus | undefined }) {
  const trpc = useTRPC();
  const query = useSuspenseInfiniteQuery(
    trpc.jobs.list.infiniteQueryOptions(
      { status, limit: JOBS_PAGE_SIZE },
      {
        getNextPageParam: (page) => page.nextCursor,
        refetchInterval: (current) =>
          current.state.data?.pages.some((page) =>
            page.items.some((job) => !isTerminal(job.status)),
          )
            ? ACTIVE_REFRESH_MS
            : false,
      },
    ),
  );
  const jobs = query.data.pages.flatMap((page) => page.items);

  return (
    <div>
      <StatusFilter status={status} />
      {query.error ? (
        <p role="alert" className="mt-6 text-sm text-red-700 dark:text-red-400">
          Your jobs could not be refreshed: {query.error.message}
        </p>
      ) : null}
      {jobs.length === 0 ? (
        <p className="mt-6 text-sm text-zinc-500">
          {status
            ? `No ${statusLabels[status].toLowerCase()} jobs.`
            : "No jobs yet. Start one above."}
        </p>
      ) : (
        <ul
          aria-label="Jobs"
          className="mt-6 divide-y divide-zinc-200 rounded-xl border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800"
        >
          {jobs.map((job) => (
            <li key={job.id} data-testid="job-row" className="p-4">
              <div className="flex flex-wrap items-start justify-between gap-x-4 gap-y-2">
                <div className="min-w-0">
                  <Link
                    href={`/jobs/${job.id}`}
                    className="font-medium break-words hover:underline"
                  >
                    {job.title}
                  </Link>
                  <p className="mt-0.5 text-xs text-zinc-500">
                    <span className="capitalize">{job.kind}</span> ·{" "}
                    <LocalTime date={job.createdAt} /> ·{" "}
                    <span data-testid="job-row-cost" className="tabular-nums">
                      {formatMicros(job.costMicros)}
                    </span>
                  </p>
                </div>
                <JobStatusBadge status={job.status} />
              </div>
              {!isTerminal(job.status) ? (
                <JobProgressBar
                  className="mt-3"
                  progress={job.progress}
                  status={job.status}
                  label={`Progress of ${job.title}`}
                />
              ) : job.status === "failed" && job.errorMessage ? (
                <p className="mt-2 text-sm text-red-700 dark:text-red-400">{job.errorMessage}</p>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      {query.hasNextPage ? (
        <button
          type="button"
          onClick={() => void query.fetchNextPage()}
          disabled={query.isFetchingNextPage}
          className="mt-4 rounded-md border border-zinc-300 px-4 py-2 text-sm font-medium hover:bg-zinc-100 disabled:opacity-60 dark:border-zinc-700 dark:hover:bg-zinc-800"
        >
          {query.isFetchingNextPage ? "Loading…" : "Load more"}
        </button>
      ) : null}
    </div>
  );
}
