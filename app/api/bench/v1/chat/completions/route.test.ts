import { describe, expect, it } from "vitest";
import { POST } from "./route";

describe("the benchmark passthrough route", () => {
  it("does not exist unless a benchmark turns it on", async () => {
    const response = await POST(
      new Request("http://localhost/api/bench/v1/chat/completions", {
        method: "POST",
        body: JSON.stringify({ model: "x", messages: [] }),
      }),
    );
    expect(response.status).toBe(404);
  });
});
