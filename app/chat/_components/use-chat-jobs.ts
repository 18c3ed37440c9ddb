"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useCallback, useSyncExternalStore } from "react";
import { z } from "zod";
import type { CreateJobInput } from "@/lib/jobs/schemas";
import { useTRPC } from "@/lib/trpc/client";

const chatJobsSchema = z.array(
  z.object({ jobId: z.string().max(64), afterMessageId: z.string().max(64).nullable() }),
);
export type ChatJob = z.infer<typeof chatJobsSchema>[number];

// NOTE: which conversation started a job is kept in this browser only (the
// job itself is in the jobs list and at its permalink whatever happens here).
const storageKey = (conversationId: string) => `dispatch:chat-jobs:${conversationId}`;
const NONE: ChatJob[] = [];
const listeners = new Set<() => void>();
const snapshots = new Map<string, { raw: string | null; jobs: ChatJob[] }>();

function subscribe(listener: () => void) {
  listeners.add(listener);
  window.addEventListener("storage", listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("storage", listener);
  };
}

/** The stored list, the same array as long as the stored text is the same. */
function read(conversationId: string): ChatJob[] {
  const raw = localStorage.getItem(storageKey(conversationId));
  const cached = snapshots.get(conversationId);
  if (cached && cached.raw === raw) return cached.jobs;
  let jobs = NONE;
  try {
    const parsed = chatJobsSchema.safeParse(JSON.parse(raw ?? "[]"));
    if (parsed.success) jobs = parsed.data;
  } catch {
    // A damaged entry shows no cards; the jobs are still in the jobs list.
  }
  snapshots.set(conversationId, { raw, jobs });
  return jobs;
}

/** Jobs started from a conversation, each placed after the message that was last when it started. */
export function useChatJobs(conversationId: string) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const jobs = useSyncExternalStore(
    subscribe,
    () => read(conversationId),
    () => NONE,
  );
  const create = useMutation(trpc.jobs.create.mutationOptions());
  const start = useCallback(
    async (input: CreateJobInput, afterMessageId: string | null) => {
      const job = await create.mutateAsync(input);
      const next = [...read(conversationId), { jobId: job.id, afterMessageId }].slice(-50);
      localStorage.setItem(storageKey(conversationId), JSON.stringify(next));
      for (const listener of listeners) listener();
      void queryClient.invalidateQueries({ queryKey: trpc.jobs.list.pathKey() });
      return job;
    },
    [conversationId, create, queryClient, trpc],
  );
  return { jobs, start, starting: create.isPending };
}
