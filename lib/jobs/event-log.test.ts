import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import {
  appendJobEvents,
  commitStep,
  InvalidTransitionError,
  JOB_EVENTS_CHANNEL,
  JobFinishedError,
  requestCancel,
} from "@/lib/jobs/event-log";
import { createTestJob } from "@/test/jobs";
import { waitUntil } from "@/test/wait";

async function seqs(jobId: string) {
  const rows = await db.jobEvent.findMany({
    where: { jobId },
    orderBy: { seq: "asc" },
    select: { seq: true },
  });
  return rows.map((row) => row.seq);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

let listener: pg.Client;
const notifications: Array<{ id: string; seq: number }> = [];

beforeAll(async () => {
  listener = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await listener.connect();
  listener.on("notification", (message) => notifications.push(JSON.parse(message.payload ?? "{}")));
  await listener.query(`LISTEN ${JOB_EVENTS_CHANNEL}`);
});
afterAll(() => listener.end());

function notificationsFor(jobId: string, count: number) {
  return waitUntil(
    () => notifications.filter((n) => n.id === jobId),
    (received) => received.length >= count,
    { what: `${count} notifications` },
  );
}

describe("appendJobEvents", () => {
  it("numbers events from 1 and writes nothing new when a step is retried", async () => {
    const { id } = await createTestJob();
    const events = [
      { type: "step.started", data: {} },
      { type: "progress", data: { progress: 0.5 } },
      { type: "step.completed", data: {} },
    ];
    const first = await db.$transaction((tx) => appendJobEvents(tx, id, "plan", events));
    expect(first.appended.map((event) => event.seq)).toEqual([1, 2, 3]);
    expect(first.appended[1]).toMatchObject({
      type: "progress",
      step: "plan",
      data: { progress: 0.5 },
    });

    const retry = await db.$transaction((tx) => appendJobEvents(tx, id, "plan", events));
    expect(retry).toEqual({ appended: [], lastSeq: 3 });
    expect(await seqs(id)).toEqual([1, 2, 3]);
    const job = await db.job.findUniqueOrThrow({ where: { id }, select: { lastSeq: true } });
    expect(job.lastSeq).toBe(3);
  });

  it("adds only the events a retried step did not write before", async () => {
    const { id } = await createTestJob();
    await db.$transaction((tx) => appendJobEvents(tx, id, "search", [{ type: "step.started" }]));
    const retry = await db.$transaction((tx) =>
      appendJobEvents(tx, id, "search", [{ type: "step.started" }, { type: "step.completed" }]),
    );
    expect(retry.appended.map((event) => [event.seq, event.type])).toEqual([[2, "step.completed"]]);
  });

  it("hands out seq without gaps or duplicates under concurrent writers and retries", async () => {
    const { id } = await createTestJob();
    const writers = range(10).map((writer) =>
      (async () => {
        for (let batch = 0; batch < 5; batch++) {
          const events = [
            { type: "progress", data: { writer, batch } },
            { type: "partial", data: { writer, batch } },
          ];
          // Each batch is written twice at once, as a step retried while its first attempt still runs.
          await Promise.all([
            db.$transaction((tx) => appendJobEvents(tx, id, `w${writer}-b${batch}`, events)),
            db.$transaction((tx) => appendJobEvents(tx, id, `w${writer}-b${batch}`, events)),
          ]);
        }
      })(),
    );
    await Promise.all(writers);
    expect(await seqs(id)).toEqual(range(100));
    const keys = await db.jobEvent.groupBy({ by: ["step"], where: { jobId: id }, _count: true });
    expect(keys).toHaveLength(50);
    expect(keys.every((group) => group._count === 2)).toBe(true);
  });

  it("notifies only on commit, with the job id and the latest seq only", async () => {
    const { id } = await createTestJob();
    await expect(
      db.$transaction(async (tx) => {
        await appendJobEvents(tx, id, "doomed", [{ type: "step.started" }]);
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    await db.$transaction((tx) =>
      appendJobEvents(tx, id, "kept", [{ type: "step.started" }, { type: "step.completed" }]),
    );
    const received = await notificationsFor(id, 1);
    expect(received).toEqual([{ id, seq: 2 }]);
    expect(await seqs(id)).toEqual([1, 2]);
  });

  it("refuses malformed events", async () => {
    const { id } = await createTestJob();
    await expect(
      db.$transaction((tx) => appendJobEvents(tx, id, "x", [{ type: "Not A Type" }])),
    ).rejects.toThrow();
    await expect(
      db.$transaction((tx) => appendJobEvents(tx, id, "", [{ type: "progress" }])),
    ).rejects.toThrow();
  });
});

describe("commitStep", () => {
  it("writes outputs and events together and records status changes as events", async () => {
    const { id } = await createTestJob();
    await commitStep(id, "start", { status: "running" });
    await commitStep(id, "search", {
      progress: 0.4,
      sources: [
        { ref: "url:https://example.org/a", url: "https://example.org/a", title: "A", rank: 1 },
        { ref: "url:https://example.org/b", url: "https://example.org/b", title: "B", rank: 2 },
      ],
      events: [{ type: "source.found", data: { ref: "url:https://example.org/a" } }],
    });
    await commitStep(id, "write-report", {
      status: "completed",
      result: { report: "MVCC keeps old row versions [1]." },
      sources: [{ ref: "url:https://example.org/a", title: "A", rank: 1, read: true }],
      citations: [{ marker: 1, sourceRef: "url:https://example.org/a", quote: "old row versions" }],
    });
    const job = await db.job.findUniqueOrThrow({
      where: { id },
      select: {
        status: true,
        progress: true,
        result: true,
        startedAt: true,
        finishedAt: true,
        sources: { orderBy: { rank: "asc" }, select: { ref: true, read: true } },
        citations: { select: { marker: true, source: { select: { ref: true } } } },
      },
    });
    expect(job).toMatchObject({
      status: "completed",
      progress: 1,
      result: { report: "MVCC keeps old row versions [1]." },
    });
    expect(job.startedAt).toBeInstanceOf(Date);
    expect(job.finishedAt).toBeInstanceOf(Date);
    expect(job.sources).toEqual([
      { ref: "url:https://example.org/a", read: true },
      { ref: "url:https://example.org/b", read: false },
    ]);
    expect(job.citations).toEqual([{ marker: 1, source: { ref: "url:https://example.org/a" } }]);
    const events = await db.jobEvent.findMany({
      where: { jobId: id },
      orderBy: { seq: "asc" },
      select: { seq: true, type: true, step: true },
    });
    expect(events).toEqual([
      { seq: 1, type: "job.started", step: "start" },
      { seq: 2, type: "source.found", step: "search" },
      { seq: 3, type: "progress", step: "search" },
      { seq: 4, type: "job.completed", step: "write-report" },
    ]);
  });

  it("treats a retried finishing step as done and refuses to reopen a finished job", async () => {
    const { id } = await createTestJob({ status: "running" });
    await commitStep(id, "finish", { status: "completed", result: { report: "done" } });
    const retry = await commitStep(id, "finish", {
      status: "completed",
      result: { report: "done" },
    });
    expect(retry.appended).toEqual([]);
    await expect(commitStep(id, "late", { status: "running" })).rejects.toBeInstanceOf(
      InvalidTransitionError,
    );
    await expect(commitStep(id, "late", { progress: 0.3 })).rejects.toBeInstanceOf(
      JobFinishedError,
    );
    // Events alone (e.g. "email sent") may still follow a finished job.
    const after = await commitStep(id, "notify", { events: [{ type: "email.sent", data: {} }] });
    expect(after.appended.map((event) => event.type)).toEqual(["email.sent"]);
  });

  it("requires an error for a failure and keeps its code and message", async () => {
    const { id } = await createTestJob({ status: "running" });
    await expect(commitStep(id, "fail", { status: "failed" })).rejects.toThrow(/error/);
    await commitStep(id, "fail", {
      status: "failed",
      error: { code: "fetch_failed", message: "The page could not be fetched." },
    });
    const job = await db.job.findUniqueOrThrow({
      where: { id },
      select: { status: true, errorCode: true, errorMessage: true },
    });
    expect(job).toEqual({
      status: "failed",
      errorCode: "fetch_failed",
      errorMessage: "The page could not be fetched.",
    });
    const last = await db.jobEvent.findFirstOrThrow({
      where: { jobId: id },
      orderBy: { seq: "desc" },
      select: { type: true, data: true },
    });
    expect(last).toEqual({
      type: "job.failed",
      data: { code: "fetch_failed", message: "The page could not be fetched." },
    });
  });
});

describe("requestCancel", () => {
  it("cancels a queued job at once and is a no-op when repeated", async () => {
    const { id } = await createTestJob();
    expect(await requestCancel(id)).toEqual({ status: "cancelled" });
    expect(await requestCancel(id)).toEqual({ status: "cancelled" });
    const events = await db.jobEvent.findMany({
      where: { jobId: id },
      orderBy: { seq: "asc" },
      select: { type: true },
    });
    expect(events.map((event) => event.type)).toEqual(["cancel.requested", "job.cancelled"]);
    await expect(commitStep(id, "start", { status: "running" })).rejects.toBeInstanceOf(
      InvalidTransitionError,
    );
  });

  it("only records the request for a running job, which its function then ends", async () => {
    const { id } = await createTestJob({ status: "running" });
    expect(await requestCancel(id)).toEqual({ status: "running" });
    await commitStep(id, "on-cancel", { status: "cancelled" });
    const events = await db.jobEvent.findMany({
      where: { jobId: id },
      orderBy: { seq: "asc" },
      select: { type: true },
    });
    expect(events.map((event) => event.type)).toEqual(["cancel.requested", "job.cancelled"]);
  });
});
