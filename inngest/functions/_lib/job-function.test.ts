/** Every job kind's function gets the same preamble from createJobFunction. */
import { describe, expect, it } from "vitest";
import { researchQuestion } from "@/inngest/functions/research-question";
import { summarizeDocument } from "@/inngest/functions/summarize-document";

describe("createJobFunction", () => {
  it("gives each kind its own trigger and the shared flow control, cancel and failure handling", () => {
    for (const [fn, kind] of [
      [researchQuestion, "research"],
      [summarizeDocument, "summarize"],
    ] as const) {
      const opts = fn.opts as unknown as Record<string, unknown>;
      expect(opts.triggers).toEqual([expect.objectContaining({ name: `job/${kind}.requested` })]);
      expect(opts).toMatchObject({
        idempotency: "event.data.jobId",
        concurrency: { key: "event.data.ownerId" },
        cancelOn: [{ event: "job/cancel.requested", if: "async.data.jobId == event.data.jobId" }],
        retries: 3,
      });
      expect(opts.onFailure).toBeTypeOf("function");
    }
  });
});
