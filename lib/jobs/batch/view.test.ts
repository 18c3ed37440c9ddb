import { describe, expect, it } from "vitest";
import { latestProviderStatus, providerStateText } from "@/lib/jobs/batch/view";

const status = (seq: number, data: Record<string, unknown>) => ({
  seq,
  type: "batch.status",
  step: `poll-batch-1-${seq}`,
  data,
  createdAt: new Date(0),
});

describe("provider status on the job page", () => {
  it("takes the latest batch.status event and says it in words", () => {
    const events = [
      status(1, { round: 1, state: "queued", total: 10_000, done: 0 }),
      status(2, {
        round: 1,
        state: "in_progress",
        total: 10_000,
        done: 3_120,
        expectedFinish: "2026-11-29T14:20:00.000Z",
      }),
      { seq: 3, type: "progress", step: "x", data: { progress: 0.3 }, createdAt: new Date(0) },
    ];
    const latest = latestProviderStatus(events);
    expect(latest).toMatchObject({
      state: "in_progress",
      expectedFinish: "2026-11-29T14:20:00.000Z",
    });
    expect(providerStateText(latest!)).toBe("In progress: 3,120 / 10,000");
  });

  it("names the queue, finalizing and a retry round", () => {
    expect(
      providerStateText({
        round: 1,
        state: "queued",
        total: 5,
        done: 0,
        failed: 0,
        expectedFinish: null,
        expiresAt: null,
      }),
    ).toBe("Queued at the provider");
    expect(
      providerStateText({
        round: 2,
        state: "finalizing",
        total: 5,
        done: 5,
        failed: 0,
        expectedFinish: null,
        expiresAt: null,
      }),
    ).toBe("Finalizing: the provider is writing the results (retry round 2)");
  });

  it("is null for a job that never submitted a batch, or a malformed event", () => {
    expect(latestProviderStatus([])).toBeNull();
    expect(latestProviderStatus([status(1, { state: "sideways" })])).toBeNull();
  });
});
