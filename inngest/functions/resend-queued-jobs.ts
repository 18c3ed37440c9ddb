/**
 * The sweeper: once a minute, sends the request of every job still queued
 * after `RESEND_AFTER_MS` again (lib/jobs/resend.ts says why that is safe).
 * A cron function, so it runs wherever the orchestrator runs, once per tick
 * however many app instances there are, and only while the orchestrator is
 * up, which is when a resent request can be received.
 */
import { inngest } from "@/inngest/client";
import { jobRequestedEvent } from "@/lib/jobs/events";
import { jobsToResend } from "@/lib/jobs/resend";

export const resendQueuedJobs = inngest.createFunction(
  {
    id: "resend-queued-jobs",
    triggers: [{ cron: "* * * * *" }],
    // A sweep that overlaps the next one would only send the same events twice.
    concurrency: { limit: 1 },
    retries: 2,
  },
  async ({ step }) => {
    const jobs = await step.run("find-queued-jobs", () => jobsToResend());
    if (jobs.length > 0) await step.sendEvent("resend-job-requests", jobs.map(jobRequestedEvent));
    return { resent: jobs.length };
  },
);
