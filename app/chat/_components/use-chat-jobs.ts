"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useCallback, useMemo, useState } from "react";
import type { CreateJobInput } from "@/lib/jobs/schemas";
import { useTRPC } from "@/lib/trpc/client";

export interface ChatJob {
  jobId: string;
  afterMessageId: string | null;
}

/**
 * Jobs started from a conversation, each placed after the message that was
 * last when it started. The server keeps them with the conversation (they
 * come back with `chat.byId`); a job just started shows at once, before the
 * conversation is read again.
 */
export function useChatJobs(
  conversationId: string,
  stored: ReadonlyArray<{ id: string; afterMessageId: string | null }>,
) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [started, setStarted] = useState<ChatJob[]>([]);
  const create = useMutation(trpc.jobs.create.mutationOptions());

  const jobs = useMemo(() => {
    const known = stored.map((job) => ({ jobId: job.id, afterMessageId: job.afterMessageId }));
    const ids = new Set(known.map((job) => job.jobId));
    return [...known, ...started.filter((job) => !ids.has(job.jobId))];
  }, [stored, started]);

  const start = useCallback(
    async (input: CreateJobInput, afterMessageId: string | null) => {
      const job = await create.mutateAsync({
        ...input,
        fromChat: { conversationId, afterMessageId },
      });
      setStarted((current) => [...current, { jobId: job.id, afterMessageId }]);
      void queryClient.invalidateQueries({
        queryKey: trpc.chat.byId.queryKey({ id: conversationId }),
      });
      void queryClient.invalidateQueries({ queryKey: trpc.chat.list.queryKey() });
      void queryClient.invalidateQueries({ queryKey: trpc.jobs.list.pathKey() });
      return job;
    },
    [conversationId, create, queryClient, trpc],
  );
  return { jobs, start, starting: create.isPending };
}
