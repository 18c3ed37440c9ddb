"use client";

import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useMemo, useState } from "react";
import type { JobStatus } from "@/lib/jobs/schemas";
import { currentProgress, currentStatus, mergeEvents } from "@/lib/jobs/view-model";
import { useTRPC } from "@/lib/trpc/client";
import type { AppRouter } from "@/lib/trpc/routers/_app";

export type JobDetail = inferRouterOutputs<AppRouter>["jobs"]["byId"];
export type JobEventView = JobDetail["events"][number];

/** Events after which the row itself (status, result, sources, a batch's counts) is read again. */
const refetchOn = /^(job\.|source\.|input\.|cancel\.|batch\.items$)/;

/**
 * A job kept live: the row from `jobs.byId` (hydrated from the server when
 * the page rendered it) plus its event log, resumed through the `jobs.events`
 * subscription from the last event the page already has. The SSE link
 * reconnects with the last event id it saw, so nothing is missed or repeated.
 */
export function useLiveJob(id: string, token?: string | null) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const input = { id, token: token ?? null };
  const query = useQuery(trpc.jobs.byId.queryOptions(input));
  const [live, setLive] = useState<JobEventView[]>([]);
  // Fixed at mount: later reconnects carry their own last event id.
  const [resumeAfter] = useState(() => {
    const events = query.data?.events;
    return events && events.length > 0 ? String(events[events.length - 1]!.seq) : null;
  });

  const subscription = useSubscription(
    trpc.jobs.events.subscriptionOptions(
      { ...input, lastEventId: resumeAfter },
      {
        onData: ({ data }) => {
          setLive((previous) => mergeEvents(previous, [data]));
          if (refetchOn.test(data.type))
            void queryClient.invalidateQueries({ queryKey: trpc.jobs.byId.queryKey(input) });
        },
      },
    ),
  );

  const job = query.data;
  const events = useMemo(() => mergeEvents(job?.events ?? [], live), [job?.events, live]);
  const status: JobStatus | undefined = job
    ? currentStatus(job.status, job.lastSeq, events)
    : undefined;
  const progress = job ? currentProgress(job.progress, job.lastSeq, events) : 0;

  return {
    job,
    events,
    status,
    progress,
    error: query.error,
    /** `pending` means connected and waiting for the next event. */
    connection: subscription.status,
  };
}
