import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createTRPCClient, httpLink } from "@trpc/client";
import { createTRPCOptionsProxy } from "@trpc/tanstack-react-query";
import { renderToString } from "react-dom/server";
import superjson from "superjson";
import { describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { commitStep } from "@/lib/jobs/event-log";
import { createTestJob } from "@/test/jobs";
import { TRPCProvider } from "@/lib/trpc/client";
import type { AppRouter } from "@/lib/trpc/routers/_app";
import { callerAsNewOwner } from "@/test/trpc";
import { JOBS_PAGE_SIZE } from "@/lib/jobs/schemas";
import { JobsList } from "./jobs-list";

describe("the jobs list, rendered on the server", () => {
  it("shows each job with its status, progress while unfinished, errors, and a load-more button", async () => {
    const { caller, ownerId } = await callerAsNewOwner();
    await db.owner.create({ data: { id: ownerId } });
    const running = await createTestJob({ ownerId, status: "running", title: "Research vacuum" });
    await commitStep(running.id, "search", { progress: 0.42 });
    const failed = await createTestJob({
      ownerId,
      status: "running",
      title: "Summary of a dead link",
    });
    await commitStep(failed.id, "fetch", {
      status: "failed",
      error: { code: "fetch_failed", message: "The page answered 404." },
    });
    for (let i = 0; i < JOBS_PAGE_SIZE; i++)
      await createTestJob({ ownerId, status: "completed", title: `Old ${i}` });

    const firstPage = await caller.jobs.list({ limit: JOBS_PAGE_SIZE });
    const queryClient = new QueryClient();
    const trpcClient = createTRPCClient<AppRouter>({
      links: [httpLink({ url: "http://127.0.0.1:9/api/trpc", transformer: superjson })],
    });
    const proxy = createTRPCOptionsProxy<AppRouter>({ client: trpcClient, queryClient });
    queryClient.setQueryData(
      proxy.jobs.list.infiniteQueryKey({ status: undefined, limit: JOBS_PAGE_SIZE }),
      {
        pages: [firstPage],
        pageParams: [null],
      },
    );
    const html = renderToString(
      <QueryClientProvider client={queryClient}>
        <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
          <JobsList status={undefined} />
        </TRPCProvider>
      </QueryClientProvider>,
    );
    // Newest first: the completed ones were created last.
    expect(html.match(/data-testid="job-row"/g)).toHaveLength(JOBS_PAGE_SIZE);
    expect(html).toContain('aria-current="page"');
    expect(html).toContain(">All<");
    expect(html).toContain("Load more");
    expect(firstPage.nextCursor).not.toBeNull();

    const olderPage = await caller.jobs.list({
      limit: JOBS_PAGE_SIZE,
      cursor: firstPage.nextCursor,
    });
    queryClient.setQueryData(
      proxy.jobs.list.infiniteQueryKey({ status: undefined, limit: JOBS_PAGE_SIZE }),
      {
        pages: [firstPage, olderPage],
        pageParams: [null, firstPage.nextCursor],
      },
    );
    const all = renderToString(
      <QueryClientProvider client={queryClient}>
        <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
          <JobsList status={undefined} />
        </TRPCProvider>
      </QueryClientProvider>,
    );
    expect(all).toContain("Research vacuum");
    expect(all).toMatch(
      /role="progressbar"[^>]*aria-label="Progress of Research vacuum"[^>]*aria-valuenow="42"/,
    );
    expect(all).toContain("The page answered 404.");
    expect(all).toContain('data-status="failed"');
    expect(all).not.toContain("Load more");
  });
});
