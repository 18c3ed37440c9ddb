import { Suspense } from "react";
import type { Metadata } from "next";
import { JOBS_PAGE_SIZE, jobStatusSchema } from "@/lib/jobs/schemas";
import { getQueryClient, HydrateClient, prefetch, trpc } from "@/lib/trpc/server";
import { JobsList } from "./_components/jobs-list";
import { NewJobForm } from "./_components/new-job-form";

export const metadata: Metadata = { title: "Jobs" };
export const dynamic = "force-dynamic";

export default async function JobsPage({
  searchParams,
}: {
  searchParams: Promise<{ status?: string | string[] }>;
}) {
  const { status: rawStatus } = await searchParams;
  const status = jobStatusSchema.safeParse(rawStatus).data;
  // The form's first render needs it (the address field's initial value): awaited, not prefetched.
  const { email: rememberedEmail } = await getQueryClient().fetchQuery(
    trpc.owner.rememberedEmail.queryOptions(),
  );
  prefetch(
    trpc.jobs.list.infiniteQueryOptions(
      { status, limit: JOBS_PAGE_SIZE },
      { getNextPageParam: (page) => page.nextCursor },
    ),
  );
  return (
    <div className="mx-auto w-full max-w-5xl px-4 py-10 sm:px-6">
      <h1 className="text-2xl font-semibold">Jobs</h1>
      <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
        Research and summaries run in the background. Leave whenever you like: each job keeps its
        own page.
      </p>
      <section aria-labelledby="new-job-heading" className="mt-8">
        <h2 id="new-job-heading" className="text-lg font-semibold">
          Start a job
        </h2>
        <NewJobForm rememberedEmail={rememberedEmail} />
      </section>
      <section aria-labelledby="your-jobs-heading" className="mt-12">
        <h2 id="your-jobs-heading" className="text-lg font-semibold">
          Your jobs
        </h2>
        <HydrateClient>
          <Suspense
            fallback={
              <p className="mt-6 text-sm text-zinc-500" aria-busy="true">
                Loading jobs…
              </p>
            }
          >
            <JobsList status={status} />
          </Suspense>
        </HydrateClient>
      </section>
    </div>
  );
}
