import { describe, expect, it } from "vitest";
import { APICallError } from "ai";
import {
  callModel,
  jobErrorFromMessage,
  jobFailure,
  jobStep,
  type StepTools,
} from "@/inngest/functions/_lib/job-step";
import { db } from "@/lib/db";
import { commitStep } from "@/lib/jobs/event-log";
import { createTestJob } from "@/test/jobs";

/**
 * Step tools whose `run` calls the step's function each time it is asked, as
 * Inngest does when a step's result never reached it (a killed app, a dropped
 * connection): the step runs again.
 */
const rerunningSteps = {
  run: (_id: string, fn: () => Promise<unknown>) => fn(),
} as unknown as StepTools;

async function eventTypes(jobId: string) {
  const rows = await db.jobEvent.findMany({
    where: { jobId },
    orderBy: { seq: "asc" },
    select: { type: true, step: true },
  });
  return rows.map((row) => `${row.step}:${row.type}`);
}

describe("jobStep retried", () => {
  it("returns the recorded value of a step that already finished its job, without running it again", async () => {
    const { id } = await createTestJob({ status: "running" });
    let runs = 0;
    const finish = () =>
      jobStep(rerunningSteps, id, "write-summary", "Writing the summary", async () => {
        runs++;
        const result = { markdown: "The summary." };
        return { value: result, outputs: { status: "completed", result } };
      });
    const first = await finish();
    const retried = await finish();
    expect(retried).toEqual(first);
    expect(runs).toBe(1);
    expect(await eventTypes(id)).toEqual([
      "write-summary:step.started",
      "write-summary:step.completed",
      "write-summary:job.completed",
    ]);
  });

  it("still ends the run when the job was finished by something else", async () => {
    const { id } = await createTestJob({ status: "running" });
    await commitStep(id, "cancel", { status: "cancelled" });
    let runs = 0;
    const step = jobStep(rerunningSteps, id, "write-summary", "Writing the summary", async () => {
      runs++;
      return { value: null, outputs: { status: "completed" } };
    });
    await expect(step).rejects.toThrow(/^job_finished: /);
    expect(runs).toBe(0);
  });

  it("runs an unfinished step again and duplicates none of its events", async () => {
    const { id } = await createTestJob({ status: "running" });
    let runs = 0;
    const part = () =>
      jobStep(rerunningSteps, id, "summarize-part-1", "Part 1", async () => {
        runs++;
        return { value: "part", events: [{ type: "partial", data: { key: "part-1", text: "x" } }] };
      });
    await part();
    expect(await part()).toBe("part");
    expect(runs).toBe(2);
    expect(await eventTypes(id)).toEqual([
      "summarize-part-1:step.started",
      "summarize-part-1:partial",
      "summarize-part-1:step.completed",
    ]);
  });
});

describe("job failure messages", () => {
  it("reads back the code and message of a failure Dispatch wrote", () => {
    const failure = jobFailure("http_error", "The site answered with HTTP 404.");
    expect(failure.name).toBe("NonRetriableError");
    expect(jobErrorFromMessage(failure.message)).toEqual({
      code: "http_error",
      message: "The site answered with HTTP 404.",
    });
  });

  it("shows nothing of other errors, whatever they look like", () => {
    expect(jobErrorFromMessage('error: relation "jobs" does not exist')).toBeNull();
    expect(jobErrorFromMessage("ECONNREFUSED: connect 10.0.0.5:5432")).toBeNull();
    expect(jobErrorFromMessage("fetch failed")).toBeNull();
    expect(jobErrorFromMessage(undefined)).toBeNull();
  });
});

describe("callModel", () => {
  const failure = (statusCode: number) =>
    new APICallError({
      message: `HTTP ${statusCode}`,
      url: "http://model.test/v1/chat/completions",
      requestBodyValues: {},
      statusCode,
      responseHeaders: {},
    });

  it("retries a transient failure before any output at once, inside the step", async () => {
    let calls = 0;
    const started = Date.now();
    const answer = await callModel(async () => {
      calls++;
      if (calls <= 2) throw failure(calls === 1 ? 500 : 429);
      return "answer";
    });
    expect(answer).toBe("answer");
    expect(calls).toBe(3);
    // The chat's short backoff (at most 250 + 500 ms), not the orchestrator's seconds.
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("fails the step with the model's message when the failure is not transient or lasts", async () => {
    let calls = 0;
    const refused = callModel(async () => {
      calls++;
      throw failure(400);
    });
    await expect(refused).rejects.toThrow(/^model_unavailable: The language model did not answer/);
    expect(calls).toBe(1);
    calls = 0;
    await expect(
      callModel(async () => {
        calls++;
        throw failure(503);
      }),
    ).rejects.toThrow(/^model_unavailable: /);
    expect(calls).toBe(4);
  });
});
