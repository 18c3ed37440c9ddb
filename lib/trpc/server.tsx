/**
 * tRPC for server components: prefetch into a per-request query client, then
 * hydrate it on the client, so pages render with data and stay live. This is
 * the one way a page loads data: `prefetch` what the client renders, and
 * `fetchOrNotFound` what the page needs itself (a title, a 404), both through
 * the same query options, so both land in the cache `HydrateClient` sends.
 */
import "server-only";
import {
  dehydrate,
  HydrationBoundary,
  type FetchQueryOptions,
  type QueryKey,
} from "@tanstack/react-query";
import { createTRPCOptionsProxy, type TRPCQueryOptions } from "@trpc/tanstack-react-query";
import { headers } from "next/headers";
import { notFound } from "next/navigation";
import { cache } from "react";
import { createTRPCContext } from "@/lib/trpc/init";
import { isNotFoundError } from "@/lib/trpc/errors";
import { makeQueryClient } from "@/lib/trpc/query-client";
import { appRouter } from "@/lib/trpc/routers/_app";

export const getQueryClient = cache(makeQueryClient);

const createContext = cache(async () =>
  createTRPCContext({ headers: new Headers(await headers()) }),
);

export const trpc = createTRPCOptionsProxy({
  ctx: createContext,
  router: appRouter,
  queryClient: getQueryClient,
});

/**
 * The query's data, for a page that needs it itself; a not-found answer (a
 * job or conversation this browser may not see) is the page's 404.
 */
export async function fetchOrNotFound<TQueryFnData, TError, TData, TQueryKey extends QueryKey>(
  queryOptions: FetchQueryOptions<TQueryFnData, TError, TData, TQueryKey>,
): Promise<TData> {
  try {
    return await getQueryClient().fetchQuery(queryOptions);
  } catch (error) {
    if (isNotFoundError(error)) notFound();
    throw error;
  }
}

export function HydrateClient({ children }: { children: React.ReactNode }) {
  return <HydrationBoundary state={dehydrate(getQueryClient())}>{children}</HydrationBoundary>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function prefetch<T extends ReturnType<TRPCQueryOptions<any>>>(queryOptions: T) {
  const queryClient = getQueryClient();
  if (queryOptions.queryKey[1]?.type === "infinite") {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    void queryClient.prefetchInfiniteQuery(queryOptions as any);
  } else {
    void queryClient.prefetchQuery(queryOptions);
  }
}
