/** The Inngest dispatcher sends the contract's events, with the ids that de-duplicate them. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { inngest } from "@/inngest/client";
import { inngestDispatcher } from "@/lib/jobs/dispatch";
import { newJobId } from "@/lib/jobs/ids";

afterEach(() => vi.restoreAllMocks());

const job = {
  id: newJobId(),
  kind: "research" as const,
  ownerId: "0b7c0a8e-2f4c-4a59-9a43-0d6f0f2f6b11",
  correlationId: "corr-1",
};

describe("inngestDispatcher", () => {
  it("sends an answer under the event id it is given, so a second send of it is one event", async () => {
    const send = vi.spyOn(inngest, "send").mockResolvedValue({ ids: ["x"] });
    const eventId = `${job.id}-respond-7`;
    await inngestDispatcher.sendInputProvided(job, { action: "approve" }, eventId);
    await inngestDispatcher.sendInputProvided(job, { action: "approve" }, eventId);
    expect(send.mock.calls.map(([event]) => event)).toEqual([
      {
        id: eventId,
        name: "job/input.provided",
        data: { jobId: job.id, correlationId: "corr-1", response: { action: "approve" } },
      },
      expect.objectContaining({ id: eventId }),
    ]);
  });

  it("names each kind's request event and keys it by the job", async () => {
    const send = vi.spyOn(inngest, "send").mockResolvedValue({ ids: ["x"] });
    await inngestDispatcher.sendJobRequested(job);
    await inngestDispatcher.sendJobRequested({ ...job, kind: "summarize" });
    expect(send.mock.calls.map(([event]) => event)).toEqual([
      expect.objectContaining({ id: `${job.id}-requested`, name: "job/research.requested" }),
      expect.objectContaining({ id: `${job.id}-requested`, name: "job/summarize.requested" }),
    ]);
  });
});
