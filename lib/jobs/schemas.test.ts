import { describe, expect, it } from "vitest";
import { newRequestId, requestIdSchema } from "@/lib/jobs/schemas";

describe("request ids", () => {
  it("are new for every submission and pass the schema jobs.create checks", () => {
    const ids = Array.from({ length: 1000 }, () => newRequestId());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(0, 10)) expect(requestIdSchema.parse(id)).toMatch(/^[0-9a-f]{32}$/);
  });

  it("refuse keys too short, too long, or with other characters", () => {
    for (const bad of ["short", "x".repeat(65), "has spaces in it here", "semi;colon-0123456789"])
      expect(requestIdSchema.safeParse(bad).success).toBe(false);
  });
});
