import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createTRPCClient, httpLink } from "@trpc/client";
import { createTRPCOptionsProxy } from "@trpc/tanstack-react-query";
import { renderToString } from "react-dom/server";
import superjson from "superjson";
import { afterAll, describe, expect, it } from "vitest";
import { commitStep } from "@/lib/jobs/event-log";
import { jobEventsHub } from "@/lib/jobs/live";
import { TRPCProvider } from "@/lib/trpc/client";
import type { AppRouter } from "@/lib/trpc/routers/_app";
import { stubJobDispatcher } from "@/test/jobs";
import { callerAsNewOwner } from "@/test/trpc";
import { JobView } from "./job-view";

// No orchestrator here: the jobs are moved along by hand below.
const { restore: restoreDispatcher } = stubJobDispatcher();
afterAll(async () => {
  restoreDispatcher();
  await jobEventsHub().close();
});

/** Server-renders the permalink page's view from what `jobs.byId` returned, as the page does. */
async function renderJob(
  id: string,
  caller: Awaited<ReturnType<typeof callerAsNewOwner>>["caller"],
) {
  const job = await caller.jobs.byId({ id, token: null });
  const queryClient = new QueryClient();
  // Never called during a server render: the query is already in the cache.
  const trpcClient = createTRPCClient<AppRouter>({
    links: [httpLink({ url: "http://127.0.0.1:9/api/trpc", transformer: superjson })],
  });
  const proxy = createTRPCOptionsProxy<AppRouter>({ client: trpcClient, queryClient });
  queryClient.setQueryData(proxy.jobs.byId.queryKey({ id, token: null }), job);
  return renderToString(
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <JobView id={id} token={null} />
      </TRPCProvider>
    </QueryClientProvider>,
  );
}

describe("the job page, rendered on the server", () => {
  it("shows a finished research job: status, timeline, report with linked citations and sources", async () => {
    const { caller } = await callerAsNewOwner();
    const { id } = await caller.jobs.create({
      kind: "research",
      question: "How does MVCC work in Postgres?",
      notifyEmail: "reader@example.org",
    });
    await commitStep(id, "start", { status: "running" });
    await commitStep(id, "plan", {
      events: [
        { type: "step.started", data: { label: "Planning" } },
        { type: "step.completed", data: {} },
      ],
    });
    await commitStep(id, "search", {
      progress: 0.5,
      sources: [
        {
          ref: "url:https://example.org/mvcc",
          url: "https://example.org/mvcc",
          title: "MVCC explained",
          rank: 1,
        },
      ],
      events: [
        { type: "step.started", data: { label: "Searching" } },
        { type: "step.completed", data: {} },
      ],
    });
    await commitStep(id, "write", {
      status: "completed",
      result: { markdown: "Postgres keeps old row versions [1]." },
      citations: [{ marker: 1, sourceRef: "url:https://example.org/mvcc" }],
    });
    await commitStep(id, "send-email", { events: [{ type: "email.sent", data: {} }] });
    const html = await renderJob(id, caller);
    expect(html).toContain("How does MVCC work in Postgres?");
    expect(html).toContain("The email to reader@example.org was sent.");
    expect(html).toContain('data-status="completed"');
    expect(html).toMatch(/role="progressbar"[^>]*aria-valuenow="100"/);
    expect(html).toContain("Planning");
    expect(html).toContain("Searching");
    expect(html).not.toContain('title="send-email"');
    expect(html).toContain("Postgres keeps old row versions");
    expect(html).toMatch(/href="#source-[0-9a-f-]+"[^>]*aria-label="Source 1"/);
    expect(html).toContain("MVCC explained");
    expect(html).not.toContain("Cancel job");
  });

  it("shows a job that needs input with its plan to approve or edit, and a cancel button", async () => {
    const { caller } = await callerAsNewOwner();
    const { id } = await caller.jobs.create({
      kind: "research",
      question: "Why vacuum?",
      approvePlan: true,
    });
    await commitStep(id, "start", { status: "running" });
    await commitStep(id, "approve-plan", {
      status: "waiting_for_input",
      events: [
        {
          type: "input.requested",
          data: {
            prompt: "Approve this plan?",
            plan: ["What is bloat?", "What does autovacuum do?"],
          },
        },
      ],
    });
    const html = await renderJob(id, caller);
    expect(html).toContain("Needs your input");
    expect(html).toContain("Approve this plan?");
    expect(html).toContain("What does autovacuum do?");
    expect(html).toContain("Approve plan");
    expect(html).not.toContain('data-testid="email-note"');
    expect(html).toContain("Cancel job");
  });

  it("shows a failed job's safe message", async () => {
    const { caller } = await callerAsNewOwner();
    const { id } = await caller.jobs.create({
      kind: "summarize",
      source: { type: "text", text: "Some text." },
    });
    await commitStep(id, "start", { status: "running" });
    await commitStep(id, "fetch", {
      status: "failed",
      error: { code: "fetch_failed", message: "The page could not be fetched." },
    });
    const html = await renderJob(id, caller);
    expect(html).toContain('role="alert"');
    expect(html).toContain("The page could not be fetched.");
    expect(html).toContain("fetch_failed");
  });
});
