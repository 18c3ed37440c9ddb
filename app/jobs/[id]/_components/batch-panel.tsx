"use client";

import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { LocalTime } from "@/components/ui/local-time";
import type { JobDetail, JobEventView } from "@/components/jobs/use-live-job";
import { formatMicros } from "@/lib/ai/pricing";
import { latestProviderStatus, providerStateText } from "@/lib/jobs/batch/view";
import { useTRPC } from "@/lib/trpc/client";

const ITEMS_PAGE = 50;

const itemStatusLabels = {
  pending: "Waiting",
  submitted: "At the provider",
  done: "Done",
  failed: "Failed",
} as const;

/** What the job cost, and in economy mode what the same work would have cost live. */
export function CostNote({ job }: { job: JobDetail }) {
  const { cost } = job;
  if (cost.calls === 0 && job.kind !== "batch") return null;
  return (
    <div data-testid="job-cost" className="mt-3 text-sm">
      <p>
        <span className="text-zinc-500">Cost: </span>
        <span className="font-medium tabular-nums">{formatMicros(cost.micros)}</span>{" "}
        <span className="text-zinc-500">
          ({cost.inputTokens.toLocaleString("en")} input and{" "}
          {cost.outputTokens.toLocaleString("en")} output tokens, {cost.calls.toLocaleString("en")}{" "}
          model calls)
        </span>
      </p>
      {cost.economy ? (
        <p data-testid="live-cost">
          <span className="text-zinc-500">The same work live: </span>
          <span className="tabular-nums">{formatMicros(cost.liveMicros)}</span>
        </p>
      ) : null}
      {cost.reference ? (
        <p data-testid="reference-cost" className="text-zinc-500">
          The offline demo model is free. At {cost.reference.modelId}&apos;s list price these tokens
          would cost {formatMicros(cost.reference.micros)}
          {cost.economy ? <>, or {formatMicros(cost.reference.liveMicros)} live</> : null}.
        </p>
      ) : null}
      {cost.unpricedModels.length > 0 ? (
        <p className="text-zinc-500">
          No price is configured for {cost.unpricedModels.join(", ")}; their tokens are not in the
          cost.
        </p>
      ) : null}
      {job.budgetMicros !== null ? (
        <p className="text-zinc-500">Budget: {formatMicros(job.budgetMicros)}</p>
      ) : null}
      {job.deadlineAt ? (
        <p className="text-zinc-500">
          Deadline: <LocalTime date={job.deadlineAt} />
        </p>
      ) : null}
    </div>
  );
}

function ProviderStatusLine({ events, finished }: { events: JobEventView[]; finished: boolean }) {
  const status = latestProviderStatus(events);
  if (!status) return null;
  return (
    <p data-testid="provider-status" role="status" className="text-sm">
      {providerStateText(status)}
      {!finished && status.expectedFinish ? (
        <>
          {" "}
          · expected around <LocalTime date={new Date(status.expectedFinish)} />
        </>
      ) : !finished && status.state === "queued" ? (
        <> · a provider batch usually finishes within an hour, at most 24 hours</>
      ) : null}
    </p>
  );
}

/**
 * A batch job's items: counts, the provider's state in economy mode, the
 * downloads, and the items themselves a page at a time. The list is read
 * again whenever the counts change (the row is refetched on `batch.items`
 * and on the job's end).
 */
export function BatchPanel({
  job,
  events,
  token,
  finished,
}: {
  job: JobDetail;
  events: JobEventView[];
  token: string | null;
  finished: boolean;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const input = { id: job.id, token, limit: ITEMS_PAGE };
  const items = useInfiniteQuery(
    trpc.jobs.items.infiniteQueryOptions(input, {
      getNextPageParam: (page) => page.nextCursor,
    }),
  );
  const counts = job.items;
  useEffect(() => {
    void queryClient.invalidateQueries({ queryKey: trpc.jobs.items.pathKey() });
  }, [counts?.done, counts?.failed, queryClient, trpc]);
  if (!counts) return null;
  const result = job.result as { partial?: boolean } | null;
  const download = (format: "csv" | "jsonl") =>
    `/api/jobs/${job.id}/results?format=${format}${token ? `&token=${encodeURIComponent(token)}` : ""}`;
  const rows = items.data?.pages.flatMap((page) => page.items) ?? [];

  return (
    <div>
      <ProviderStatusLine events={events} finished={finished} />
      <p data-testid="batch-counts" className="mt-2 text-sm tabular-nums">
        {counts.done.toLocaleString("en")} done · {counts.failed.toLocaleString("en")} failed ·{" "}
        {counts.pending.toLocaleString("en")} to go, of {counts.total.toLocaleString("en")} items
      </p>
      {result?.partial ? (
        <p role="status" className="mt-2 text-sm text-amber-800 dark:text-amber-300">
          Partial results: the job stopped at its budget or deadline; the items it did not reach are
          marked failed.
        </p>
      ) : null}
      <p className="mt-3 flex gap-4 text-sm">
        <a className="text-indigo-700 hover:underline dark:text-indigo-400" href={download("csv")}>
          Download results (CSV)
        </a>
        <a
          className="text-indigo-700 hover:underline dark:text-indigo-400"
          href={download("jsonl")}
        >
          Download results (JSONL)
        </a>
      </p>
      <table data-testid="batch-items" className="mt-4 w-full text-left text-sm">
        <thead className="text-xs text-zinc-500">
          <tr>
            <th scope="col" className="py-1 pr-3">
              #
            </th>
            <th scope="col" className="py-1 pr-3">
              Item
            </th>
            <th scope="col" className="py-1 pr-3">
              Status
            </th>
            <th scope="col" className="py-1">
              Summary
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-200 dark:divide-zinc-800">
          {rows.map((item) => (
            <tr key={item.position} data-testid="batch-item" className="align-top">
              <td className="py-2 pr-3 text-zinc-500 tabular-nums">{item.position}</td>
              <td className="max-w-48 py-2 pr-3 break-words">{item.label}</td>
              <td className="py-2 pr-3 whitespace-nowrap">
                {itemStatusLabels[item.status]}
                {item.mode === "batch" ? " (economy)" : ""}
              </td>
              <td className="py-2 whitespace-pre-wrap text-zinc-700 dark:text-zinc-300">
                {item.summary ?? (
                  <span className="text-red-700 dark:text-red-400">{item.errorMessage}</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {items.hasNextPage ? (
        <button
          type="button"
          onClick={() => void items.fetchNextPage()}
          disabled={items.isFetchingNextPage}
          className="mt-3 rounded-md border border-zinc-300 px-4 py-2 text-sm font-medium hover:bg-zinc-100 disabled:opacity-60 dark:border-zinc-700 dark:hover:bg-zinc-800"
        >
          {items.isFetchingNextPage ? "Loading…" : "More items"}
        </button>
      ) : null}
    </div>
  );
}
