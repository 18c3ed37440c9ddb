import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { cache } from "react";
import { caller, getQueryClient, HydrateClient, isNotFoundError, trpc } from "@/lib/trpc/server";
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

/** The job as this browser may see it; a job it may not see does not exist. */
const loadJob = cache(async (id: string, token: string | null) => {
  try {
    return await (await caller()).jobs.byId({ id, token });
  } catch (error) {
    if (isNotFoundError(error)) notFound();
    throw error;
  }
});

export async function generateMetadata({ params, searchParams }: Props): Promise<Metadata> {
  const job = await loadJob((await params).id, await tokenOf(searchParams));
  // A job's page is private by default and its link is a secret: keep it out of search engines.
  return { title: job.title, robots: { index: false, follow: false }, referrer: "no-referrer" };
}

export default async function JobPage({ params, searchParams }: Props) {
  const { id } = await params;
  const token = await tokenOf(searchParams);
  const job = await loadJob(id, token);
  // Seeds the client's cache with what was rendered here; the page then stays live from it.
  getQueryClient().setQueryData(trpc.jobs.byId.queryKey({ id, token }), job);
  return (
    <HydrateClient>
      <JobView id={id} token={token} />
    </HydrateClient>
  );
}
