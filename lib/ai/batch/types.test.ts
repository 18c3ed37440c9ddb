import { describe, expect, it } from "vitest";
import { expectedFinish, type BatchStatus } from "@/lib/ai/batch/types";

const base: BatchStatus = {
  state: "in_progress",
  providerStatus: "in_progress",
  total: 10_000,
  done: 2_500,
  succeeded: 2_500,
  failed: 0,
  createdAt: "2026-11-29T08:00:00.000Z",
  startedAt: "2026-11-29T08:00:00.000Z",
  expiresAt: "2026-11-30T08:00:00.000Z",
  endedAt: null,
  errors: [],
};
const now = new Date("2026-11-29T08:10:00.000Z");

describe("expectedFinish", () => {
  it("extrapolates the pace so far", () => {
    // A quarter in 10 minutes: the other three quarters take 30 more.
    expect(expectedFinish(base, now)).toBe("2026-11-29T08:40:00.000Z");
  });

  it("never goes past the completion window", () => {
    expect(expectedFinish({ ...base, done: 1 }, now)).toBe(base.expiresAt);
  });

  it("has no estimate without a pace, or once the batch has ended", () => {
    expect(expectedFinish({ ...base, state: "queued", done: 0, startedAt: null }, now)).toBeNull();
    expect(expectedFinish({ ...base, done: 0 }, now)).toBeNull();
    expect(expectedFinish({ ...base, state: "completed", done: 10_000 }, now)).toBeNull();
  });
});
