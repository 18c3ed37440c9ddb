import { describe, expect, it } from "vitest";
import {
  buildTimeline,
  closeTimeline,
  currentProgress,
  currentStatus,
  mergeEvents,
  partialResults,
  pendingInput,
  resultText,
  emailState,
  type ViewEvent,
} from "@/lib/jobs/view-model";

const t0 = Date.parse("2026-11-21T00:00:00Z");
let seq = 0;
function event(type: string, step: string, at: number, data: unknown = {}): ViewEvent {
  return { seq: ++seq, type, step, data, createdAt: new Date(t0 + at) };
}

describe("job view model", () => {
  it("leaves a provider batch's status reads out of the timeline (the batch panel shows them)", () => {
    seq = 0;
    const events = [
      event("step.started", "submit-batch-1", 0, { label: "Sending" }),
      event("step.completed", "submit-batch-1", 100),
      event("batch.status", "poll-batch-1-1", 200, { state: "queued" }),
      event("progress", "poll-batch-1-1", 200, { progress: 0.1 }),
      event("batch.status", "poll-batch-1-2", 300, { state: "completed" }),
    ];
    expect(buildTimeline(events).map((step) => step.step)).toEqual(["submit-batch-1"]);
  });

  it("builds a step timeline with timing, skipping bookkeeping", () => {
    seq = 0;
    const events = [
      event("job.queued", "create", 0),
      event("job.started", "start", 100),
      event("step.started", "plan", 100, { label: "Planning" }),
      event("step.completed", "plan", 1100),
      event("step.started", "search-1", 1200),
      event("source.found", "search-1", 1500),
      event("step.started", "search-2", 1200),
      event("step.failed", "search-2", 1300, { message: "timeout" }),
      event("step.started", "write", 2000),
    ];
    const timeline = buildTimeline(events);
    expect(timeline.map((step) => [step.step, step.label, step.state])).toEqual([
      ["plan", "Planning", "done"],
      ["search-1", "search-1", "running"],
      ["search-2", "search-2", "failed"],
      ["write", "write", "running"],
    ]);
    expect(timeline[0]!.endedAt!.getTime() - timeline[0]!.startedAt.getTime()).toBe(1000);
    const closed = closeTimeline(timeline, new Date(t0 + 3000));
    expect(closed.every((step) => step.endedAt)).toBe(true);
  });

  it("lets newer events lead the row's status and progress, and merges without duplicates", () => {
    seq = 0;
    const stored = [event("job.queued", "create", 0), event("job.started", "start", 1)];
    const live = [
      stored[1]!,
      event("progress", "read", 2, { progress: 0.6 }),
      event("input.requested", "approve", 3, { prompt: "OK?", plan: ["a"] }),
    ];
    const merged = mergeEvents(stored, live);
    expect(merged.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(currentStatus("queued", 1, merged)).toBe("waiting_for_input");
    expect(currentStatus("completed", 4, merged)).toBe("completed");
    expect(currentProgress(0.2, 1, merged)).toBe(0.6);
    expect(pendingInput(merged)).toEqual({ prompt: "OK?", plan: ["a"], seq: 4 });
    expect(pendingInput([...merged, event("input.provided", "respond-4", 5)])).toBeNull();
  });

  it("keeps the latest partial result per key and finds the report text", () => {
    seq = 0;
    const events = [
      event("partial", "map-1", 0, { key: "chunk-1", title: "Part 1", text: "draft" }),
      event("partial", "map-2", 1, { key: "chunk-2", text: "second" }),
      event("partial", "map-1", 2, { key: "chunk-1", text: "final" }),
    ];
    expect(partialResults(events).map((p) => [p.key, p.title, p.text])).toEqual([
      ["chunk-1", "Part 1", "final"],
      ["chunk-2", null, "second"],
    ]);
    expect(resultText({ markdown: "# Report" })).toBe("# Report");
    expect(resultText({ summary: "short" })).toBe("short");
    expect(resultText({ other: 1 })).toBeNull();
  });
});

describe("emailState", () => {
  const event = (seq: number, type: string, data: unknown = {}) => ({
    seq,
    type,
    step: "notify",
    data,
    createdAt: new Date(0),
  });

  it("follows the latest email event, and tells a final failure from one still retried", () => {
    expect(emailState([])).toBeNull();
    expect(emailState([event(1, "email.failed", { final: false })])).toBe("failed");
    expect(emailState([event(1, "email.failed"), event(2, "email.failed", { final: true })])).toBe(
      "gave-up",
    );
    expect(emailState([event(1, "email.failed"), event(2, "email.sent")])).toBe("sent");
  });
});
