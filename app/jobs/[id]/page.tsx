import type { Metadata } from "next";
import { cache } from "react";
import { fetchOrNotFound, HydrateClient, trpc } from "@/lib/trpc/server";
import { JobView } from "./_components/job-view";

export const dynamic = "force-dynamic";

interface Props {
  params: Promise<{ id: string }>;
  searchParams: Promise<{ token?: string | string[] }>;
}

async function tokenOf(searchParams: Props["searchParams"]): Promise<string | null> {
  const { token } = await searchParams;
  return typeof token === "string" && token.length <= 200 ? token : null;
}

/**
 * The job as this browser may see it; a job it may not see does not exist.
 * Fetched into the query cache, so the client starts from what was rendered
 * here and then stays live from it.
 */
const loadJob = cache((id: string, token: string | null) =>
  fetchOrNotFound(trpc.jobs.byId.queryOptions({ id, token })),
);

export async function generateMetadata({ params, searchParams }: Props): Promise<Metadata> {
  const job = await loadJob((await params).id, await tokenOf(searchParams));
  // A job's page is private by default and its link is a secret: keep it out of search engines.
  return { title: job.title, robots: { index: false, follow: false }, referrer: "no-referrer" };
}

export default async function JobPage({ params, searchParams }: Props) {
  const { id } = await params;
  const token = await tokenOf(searchParams);
  await loadJob(id, token);
  return (
    <HydrateClient>
      <JobView id={id} token={token} />
    </HydrateClient>
  );
}
