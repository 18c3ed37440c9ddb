import { describe, expect, it } from "vitest";
import { jobErrorFromMessage, jobFailure } from "@/inngest/functions/_lib/job-step";

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
