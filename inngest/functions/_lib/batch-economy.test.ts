import { describe, expect, it } from "vitest";
import { callBatchApi, pollDelayMs } from "@/inngest/functions/_lib/batch-economy";
import { jobErrorFromMessage } from "@/inngest/functions/_lib/job-step";
import { BatchError } from "@/lib/ai/batch/types";
import { ModelConfigError } from "@/lib/ai/models";

const failing = (error: Error) => () => Promise.reject(error);

describe("callBatchApi", () => {
  it("ends the job with a message the user can act on when retrying cannot help", async () => {
    const lost = new BatchError("batch_not_found", "The provider does not know batch b1.", false);
    const error = await callBatchApi(failing(lost)).catch((caught: Error) => caught);
    expect(error.name).toBe("NonRetriableError");
    expect(jobErrorFromMessage(error.message)).toEqual({
      code: "batch_failed",
      message: "The provider does not know batch b1.",
    });

    const refused = new BatchError("provider_error", "400: secret internals", false);
    const generic = await callBatchApi(failing(refused)).catch((caught: Error) => caught);
    expect(generic.message).not.toContain("secret");
    expect(jobErrorFromMessage(generic.message)?.code).toBe("batch_failed");

    const config = new ModelConfigError("economy_unavailable", "Economy mode is unavailable.");
    const unavailable = await callBatchApi(failing(config)).catch((caught: Error) => caught);
    expect(jobErrorFromMessage(unavailable.message)).toEqual({
      code: "model_not_configured",
      message: "Economy mode is unavailable.",
    });
  });

  it("lets the step retry what may pass: rate limits, server errors", async () => {
    const busy = new BatchError("provider_error", "429", true);
    await expect(callBatchApi(failing(busy))).rejects.toBe(busy);
    await expect(callBatchApi(() => Promise.resolve(7))).resolves.toBe(7);
  });
});

describe("pollDelayMs", () => {
  it("doubles from the shortest wait to the longest", () => {
    const delays = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map(pollDelayMs);
    expect(delays[0]).toBe(15_000);
    expect(delays[1]).toBe(30_000);
    expect(delays.at(-1)).toBe(600_000);
    expect(delays.every((delay, i) => i === 0 || delay >= delays[i - 1]!)).toBe(true);
  });
});
