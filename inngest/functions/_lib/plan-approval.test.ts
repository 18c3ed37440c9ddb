/** Asking for a plan's approval writes through the refusal-mapping wrapper, like every job write. */
import { NonRetriableError } from "inngest";
import { describe, expect, it } from "vitest";
import { jobErrorFromMessage } from "@/inngest/functions/_lib/job-step";
import { requestPlanApproval } from "@/inngest/functions/_lib/plan-approval";
import { db } from "@/lib/db";
import { createTestJob } from "@/test/jobs";

describe("requestPlanApproval", () => {
  it("puts a running job to wait for input with the plan, and returns the request's seq", async () => {
    const { id } = await createTestJob({ status: "running" });
    const first = await requestPlanApproval(id, ["What is MVCC?"]);
    // A retried step writes nothing new and still finds its request.
    expect(await requestPlanApproval(id, ["What is MVCC?"])).toEqual(first);
    const job = await db.job.findUniqueOrThrow({ where: { id }, select: { status: true } });
    expect(job.status).toBe("waiting_for_input");
  });

  it("ends the run once, not by retries, when the job was cancelled meanwhile", async () => {
    const { id } = await createTestJob({ status: "cancelled" });
    const refusal = await requestPlanApproval(id, ["What is MVCC?"]).catch(
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(NonRetriableError);
    expect(jobErrorFromMessage((refusal as Error).message)?.code).toBe("job_finished");
    expect(await db.jobEvent.count({ where: { jobId: id } })).toBe(0);
  });
});
