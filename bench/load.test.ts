import { describe, expect, it } from "vitest";
import { loadOptions } from "./load";

describe("the load run's options", () => {
  it("runs 5 minutes of 200 chats, 50 jobs and 500 subscribers with a two-minute warm-up by default", () => {
    expect(loadOptions([])).toMatchObject({
      duration: 300,
      warmup: 120,
      chats: 200,
      jobs: 50,
      subscribers: 500,
      "ttft-ms": 300,
      tps: 40,
    });
  });

  it("reads --name value pairs as npm run bench passes them, and scales the warm-up to a short run", () => {
    const options = loadOptions(["load", "--duration", "60", "--chats", "20"]);
    expect(options).toMatchObject({ duration: 60, warmup: 24, chats: 20, jobs: 50 });
    expect(loadOptions(["--duration", "60", "--warmup", "10"]).warmup).toBe(10);
  });

  it("refuses values that make no run", () => {
    expect(() => loadOptions(["--duration", "soon"])).toThrow();
    expect(() => loadOptions(["--jobs", "0"])).toThrow();
  });
});
