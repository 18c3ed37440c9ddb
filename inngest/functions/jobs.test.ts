/**
 * The research and summarize functions end to end: the real SDK serving them
 * over loopback HTTP, the embedded executor running them, the offline demo
 * model answering, and Postgres holding the jobs and their event logs.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { serve } from "inngest/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoModel, type DemoModelServer } from "@/lib/ai/demo-model/server";
import { startExecutor, type Executor } from "@/inngest-executor";
import { dropSchema, testSchema } from "@/inngest-executor/testing/helpers";
import { waitUntil } from "@/test/wait";

const schema = testSchema("jobs_fn");
let OWNER_CONCURRENCY_LIMIT: number;
let model: DemoModelServer;
let executor: Executor;
let app: http.Server;
let appPort: number;
let startApp: (port: number) => Promise<number>;
let docs: http.Server;
let docsUrl: string;
let restorePolicy: () => void;
let book: Uint8Array;

let db: typeof import("@/lib/db").db;
let createJob: typeof import("@/lib/jobs/create").createJob;
let createTestOwner: typeof import("@/test/jobs").createTestOwner;
let eventLog: typeof import("@/lib/jobs/event-log");
let jobDispatcher: typeof import("@/lib/jobs/dispatch").jobDispatcher;

const paragraph = (n: number) =>
  `Paragraph ${n}. The autovacuum daemon removes dead row versions left behind by updates and deletes. ` +
  `It also refreshes planner statistics so that queries keep choosing good plans. ` +
  `Tables with many changes are vacuumed more often than quiet ones.`;
/** Pasted text long enough for several parts; `marker` goes in every part. */
const longText = (chars: number, marker = "") => {
  const paragraphs: string[] = [];
  for (let n = 1, size = 0; size < chars; n++) {
    const text = `${paragraph(n)}${marker ? ` ${marker}` : ""}`;
    paragraphs.push(text);
    size += text.length + 2;
  }
  return paragraphs.join("\n\n");
};

// NOTE: lib/env.ts reads the environment once, on first import, so the app's
// modules load only after the model and executor URLs are known.
beforeAll(async () => {
  model = await startDemoModel({ port: 0, ttftMs: 0, tokensPerSecond: 0 });
  executor = await startExecutor({
    databaseUrl: process.env.DATABASE_URL,
    port: 0,
    schema,
    retryBaseMs: 20,
    retryMaxMs: 100,
    log: () => undefined,
  });
  process.env.DEMO_MODEL_URL = model.url;
  process.env.AI_PROVIDER = "demo";
  process.env.INNGEST_DEV = executor.url;

  ({ db } = await import("@/lib/db"));
  ({ createJob } = await import("@/lib/jobs/create"));
  ({ createTestOwner } = await import("@/test/jobs"));
  eventLog = await import("@/lib/jobs/event-log");
  ({ jobDispatcher } = await import("@/lib/jobs/dispatch"));
  const { inngest } = await import("@/inngest/client");
  const { functions } = await import("@/inngest/functions");
  ({ OWNER_CONCURRENCY_LIMIT } = await import("@/inngest/functions/_lib/job-function"));
  const { setDocumentNetworkPolicy } = await import("@/lib/ingest/download-document");
  restorePolicy = setDocumentNetworkPolicy({ allowPrivateNetworks: true });

  const handler = serve({
    client: inngest,
    // Not the sweeper: its ticks would run other test files' queued jobs (one database).
    functions: functions.filter((fn) => fn.id() !== "resend-queued-jobs"),
  });
  startApp = async (port) => {
    app = http.createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => app.listen(port, "127.0.0.1", () => resolve()));
    return (app.address() as AddressInfo).port;
  };
  appPort = await startApp(0);
  await executor.sync(`http://127.0.0.1:${appPort}/api/inngest`);

  // A 300-page book of about 3,000 characters a page, as a real one would have.
  const { makePdf } = await import("@/test/ingest/make-pdf");
  book = await makePdf(
    Array.from({ length: 300 }, (_, page) =>
      Array.from(
        { length: 36 },
        (_, line) =>
          `Page ${page + 1}, line ${line + 1}: vacuum keeps tables healthy and plans good.`,
      ),
    ),
    { title: "The Vacuum Book" },
  );
  docs = http.createServer((req, res) => {
    if (req.url === "/book.pdf") {
      res.writeHead(200, { "content-type": "application/pdf" });
      res.end(book);
    } else if (req.url === "/article.html") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(
        `<!doctype html><html><head><title>Routine Vacuuming</title></head><body><article><h1>Routine Vacuuming</h1>` +
          `${[1, 2, 3, 4].map((n) => `<p>${paragraph(n)}</p>`).join("")}</article></body></html>`,
      );
    } else if (req.url?.startsWith("/searx/search?")) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          results: [
            {
              url: `${docsUrl}/article.html`,
              title: "Routine Vacuuming (web)",
              content: "Vacuum removes dead rows.",
            },
            {
              url: `${docsUrl}/gone.html`,
              title: "A vanished page",
              content: "Autovacuum thresholds, from the search snippet.",
            },
          ],
        }),
      );
    } else if (req.url === "/slow.txt") {
      setTimeout(() => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end(longText(2_000));
      }, 1_500);
    } else {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not here");
    }
  });
  await new Promise<void>((resolve) => docs.listen(0, "127.0.0.1", () => resolve()));
  docsUrl = `http://127.0.0.1:${(docs.address() as AddressInfo).port}`;
});

afterAll(async () => {
  restorePolicy?.();
  await new Promise<void>((resolve) => docs?.close(() => resolve()));
  app?.closeAllConnections();
  await new Promise<void>((resolve) => app?.close(() => resolve()));
  await executor?.stop();
  await model?.stop();
  await dropSchema(schema);
});

async function jobRow(id: string) {
  return db.job.findUniqueOrThrow({
    where: { id },
    select: { status: true, progress: true, result: true, errorCode: true, errorMessage: true },
  });
}

// NOTE: bounds, not expectations: each wait ends as soon as its condition
// holds, and a job on two cores shared with other work can take a minute.
function until(id: string, done: (status: string) => boolean, timeout = 60_000) {
  return waitUntil(
    () => jobRow(id),
    (row) => done(row.status),
    { timeout, interval: 50, what: `job ${id}'s status` },
  );
}

/** Waits for the first part summary, so what follows lands mid-run. */
function firstPartial(id: string) {
  return waitUntil(
    () => db.jobEvent.count({ where: { jobId: id, type: "partial" } }),
    (count) => count > 0,
    { timeout: 60_000, interval: 25, what: "a part summary" },
  );
}

const finished = (status: string) => ["completed", "failed", "cancelled"].includes(status);

async function eventsOf(id: string) {
  return db.jobEvent.findMany({
    where: { jobId: id },
    orderBy: { seq: "asc" },
    select: { seq: true, type: true, step: true, data: true },
  });
}

/** No gaps in seq, and each step started and completed at most once. */
function expectCleanLog(events: Awaited<ReturnType<typeof eventsOf>>) {
  expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
  const counts = new Map<string, number>();
  for (const event of events) {
    if (
      event.type !== "step.started" &&
      event.type !== "step.completed" &&
      event.type !== "partial"
    )
      continue;
    const key = `${event.type}:${event.step}:${(event.data as { key?: string }).key ?? ""}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  expect([...counts.entries()].filter(([, n]) => n > 1)).toEqual([]);
}

describe("summarize-document", { timeout: 120_000 }, () => {
  it("summarizes pasted text: a part per chunk in parallel, progress per part, then the summary", async () => {
    const ownerId = await createTestOwner();
    const { id } = await createJob(
      ownerId,
      { kind: "summarize", source: { type: "text", text: longText(15_000) } },
      randomUUID(),
    );
    const row = await until(id, finished);
    expect(row.status).toBe("completed");
    expect(row.progress).toBe(1);
    expect((row.result as { markdown: string }).markdown).toMatch(/vacuum/i);
    const events = await eventsOf(id);
    expectCleanLog(events);
    const partials = events.filter((event) => event.type === "partial");
    expect(partials.length).toBeGreaterThanOrEqual(3);
    expect((row.result as { parts: number }).parts).toBe(partials.length);
    const progress = events.filter(
      (event) => event.type === "progress" && event.step.startsWith("summarize-part-"),
    );
    expect(progress).toHaveLength(partials.length);
    expect(events.map((event) => event.type)).toContain("job.started");
    expect(events.at(-1)?.type).toBe("job.completed");
    const sources = await db.jobSource.findMany({
      where: { jobId: id },
      select: { ref: true, read: true },
    });
    expect(sources).toEqual([{ ref: expect.stringMatching(/^document:/), read: true }]);
    // Every model call's tokens, with the step that made it: one per part, one for the summary.
    const usage = await db.jobUsage.findMany({
      where: { jobId: id },
      select: { step: true, mode: true, calls: true, inputTokens: true, outputTokens: true },
    });
    expect(usage.filter((record) => record.step.startsWith("summarize-part-"))).toHaveLength(
      partials.length,
    );
    expect(usage.map((record) => record.step)).toContain("write-summary");
    for (const record of usage) {
      expect(record).toMatchObject({ mode: "live", calls: 1 });
      expect(record.inputTokens).toBeGreaterThan(0);
      expect(record.outputTokens).toBeGreaterThan(0);
    }
  });

  it("summarizes a web page fetched through the SSRF-safe client and keeps it in the owner's library", async () => {
    const ownerId = await createTestOwner();
    const url = `${docsUrl}/article.html`;
    const { id } = await createJob(
      ownerId,
      { kind: "summarize", source: { type: "url", url } },
      randomUUID(),
    );
    const row = await until(id, finished);
    expect(row.status).toBe("completed");
    expect((row.result as { markdown: string }).markdown).toMatch(/autovacuum|vacuum/i);
    const sources = await db.jobSource.findMany({
      where: { jobId: id },
      select: { ref: true, title: true },
    });
    expect(sources).toEqual([{ ref: `url:${url}`, title: "Routine Vacuuming" }]);
    const saved = await db.document.findMany({ where: { ownerId }, select: { sourceUrl: true } });
    expect(saved).toEqual([{ sourceUrl: url }]);
  });

  it("summarizes a 300-page PDF: parts labelled with their pages, combined in rounds", async () => {
    const ownerId = await createTestOwner();
    const { id } = await createJob(
      ownerId,
      { kind: "summarize", source: { type: "url", url: `${docsUrl}/book.pdf` } },
      randomUUID(),
    );
    const row = await until(id, finished, 120_000);
    expect(row.status).toBe("completed");
    const result = row.result as { markdown: string; parts: number; title: string };
    expect(result.title).toBe("The Vacuum Book");
    expect(result.parts).toBeGreaterThan(20);
    expect(result.parts).toBeLessThanOrEqual(48);
    const events = await eventsOf(id);
    expectCleanLog(events);
    const partials = events
      .filter((event) => event.type === "partial")
      .map((event) => (event.data as { title: string }).title);
    expect(partials).toHaveLength(result.parts);
    // Parts finish in any order; their titles name their place and pages.
    const first = partials.find((title) => title.startsWith("Part 1 of"));
    const last = partials.find((title) => title.startsWith(`Part ${result.parts} of`));
    expect(first).toMatch(/^Part 1 of \d+ \(pages? 1[–)]/);
    expect(last).toMatch(/300\)$/);
  }, 180_000);

  it("ends failed with a clear message when the page cannot be fetched", async () => {
    const ownerId = await createTestOwner();
    const { id } = await createJob(
      ownerId,
      { kind: "summarize", source: { type: "url", url: `${docsUrl}/missing` } },
      randomUUID(),
    );
    const row = await until(id, finished);
    expect(row.status).toBe("failed");
    expect(row.errorCode).toBe("http_error");
    expect(row.errorMessage).toBeTruthy();
    const events = await eventsOf(id);
    expect(events.at(-1)).toMatchObject({ type: "job.failed", data: { code: "http_error" } });
    expect(events.at(-2)).toMatchObject({ type: "step.failed", step: "read-document" });
  });

  it("ends failed, durably, when the model keeps failing after retries", async () => {
    const ownerId = await createTestOwner();
    const { id } = await createJob(
      ownerId,
      { kind: "summarize", source: { type: "text", text: `${paragraph(1)} [[demo:fail-500]]` } },
      randomUUID(),
    );
    const row = await until(id, finished);
    expect(row.status).toBe("failed");
    expect(row.errorCode).toBe("model_unavailable");
    expect(row.errorMessage).toMatch(/language model did not answer/);
    // The timeline shows which step failed, then the job's end.
    const events = await eventsOf(id);
    expectCleanLog(events);
    expect(events.slice(-2).map((event) => [event.type, event.step])).toEqual([
      ["step.failed", "summarize-part-1"],
      ["job.failed", "fail"],
    ]);
  });

  it("retries a failed step without duplicating its events", async () => {
    const ownerId = await createTestOwner();
    const before = model.stats().requests;
    const { id } = await createJob(
      ownerId,
      {
        kind: "summarize",
        source: { type: "text", text: longText(8_000, "[[demo:fail-500-times=2]]") },
      },
      randomUUID(),
    );
    const row = await until(id, finished);
    expect(row.status).toBe("completed");
    const events = await eventsOf(id);
    expectCleanLog(events);
    const parts = events.filter((event) => event.type === "partial").length;
    // Every part's model call failed twice before it answered.
    expect(model.stats().requests - before).toBeGreaterThanOrEqual(parts * 3);
  });

  it("finishes a job whose app went down mid-run, once the app is back, without duplicating events", async () => {
    const ownerId = await createTestOwner();
    const { id } = await createJob(
      ownerId,
      {
        kind: "summarize",
        source: { type: "text", text: longText(40_000, "[[demo:ttft-ms=300]]") },
      },
      randomUUID(),
    );
    await firstPartial(id);
    // The app stops answering (calls in flight are cut off), then comes back on the same address.
    const down = app;
    down.closeAllConnections();
    await new Promise<void>((resolve) => down.close(() => resolve()));
    expect((await jobRow(id)).status).toBe("running");
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await startApp(appPort);
    const row = await until(id, finished);
    expect(row.status).toBe("completed");
    const events = await eventsOf(id);
    expectCleanLog(events);
    expect(events.filter((event) => event.type === "partial")).toHaveLength(
      (row.result as { parts: number }).parts,
    );
  });

  // NOTE: Inngest's concurrency limit counts steps executing, not runs that exist:
  // a run between two steps holds no slot. So the cap shows in the work in flight:
  // three jobs of up to eight parallel parts each would otherwise run far more.
  it("caps one owner's work in flight across all their jobs", async () => {
    const ownerId = await createTestOwner();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const text = `${longText(13_000, "[[demo:ttft-ms=300]]")}\n\nCopy ${i}.`;
      ids.push(
        (
          await createJob(
            ownerId,
            { kind: "summarize", source: { type: "text", text } },
            randomUUID(),
          )
        ).id,
      );
    }
    let most = 0;
    for (const deadline = Date.now() + 90_000; Date.now() < deadline;) {
      const events = await db.jobEvent.findMany({
        where: { jobId: { in: ids }, type: { in: ["step.started", "step.completed"] } },
        select: { jobId: true, step: true, type: true },
      });
      const open = new Set<string>();
      for (const event of events)
        if (event.type === "step.started") open.add(`${event.jobId}/${event.step}`);
      for (const event of events)
        if (event.type === "step.completed") open.delete(`${event.jobId}/${event.step}`);
      most = Math.max(most, open.size);
      const rows = await db.job.findMany({ where: { id: { in: ids } }, select: { status: true } });
      if (rows.every((row) => row.status === "completed")) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(OWNER_CONCURRENCY_LIMIT);
    for (const id of ids) expect((await jobRow(id)).status).toBe("completed");
  });

  it("cancels mid-run: keeps the parts already summarized and ends with job.cancelled", async () => {
    const ownerId = await createTestOwner();
    // Slow parts, so the cancel lands while the second batch runs.
    const { id } = await createJob(
      ownerId,
      {
        kind: "summarize",
        source: { type: "text", text: longText(60_000, "[[demo:ttft-ms=700]]") },
      },
      randomUUID(),
    );
    await firstPartial(id);
    const job = await db.job.findUniqueOrThrow({
      where: { id },
      select: { id: true, kind: true, ownerId: true, correlationId: true },
    });
    await eventLog.requestCancel(id);
    await jobDispatcher().sendCancelRequested(job);
    const row = await until(id, finished);
    expect(row.status).toBe("cancelled");
    // Steps in flight when the cancel landed finish; nothing may follow job.cancelled.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const events = await eventsOf(id);
    expectCleanLog(events);
    expect(events.at(-1)?.type).toBe("job.cancelled");
    const partials = events.filter((event) => event.type === "partial").length;
    expect(partials).toBeGreaterThan(0);
    expect(partials).toBeLessThan(10);
    expect((await jobRow(id)).status).toBe("cancelled");
  });
});

describe("research-question", { timeout: 120_000 }, () => {
  beforeAll(async () => {
    const { saveDocument } = await import("@/lib/ingest/save-document");
    const corpus = [
      [
        "Routine Vacuuming",
        "PostgreSQL databases require periodic maintenance known as vacuuming. The autovacuum daemon automates VACUUM and ANALYZE. Dead tuples are removed so their space can be reused.",
      ],
      [
        "The Autovacuum Daemon",
        "Autovacuum checks for tables that have had a large number of inserted, updated or deleted tuples. The threshold is autovacuum_vacuum_threshold plus a scale factor times the number of tuples.",
      ],
      [
        "Write-Ahead Logging",
        "WAL ensures data integrity: changes to data files are written only after those changes have been logged. Checkpoints flush dirty pages.",
      ],
    ] as const;
    for (const [title, text] of corpus)
      await saveDocument({ ownerId: null, title, text, mime: "text/html" });
  });

  it("plans, waits for the plan's approval, searches, reads and writes a report citing its sources", async () => {
    const ownerId = await createTestOwner();
    const { id } = await createJob(
      ownerId,
      {
        kind: "research",
        question: "How does PostgreSQL decide when to vacuum a table?",
        approvePlan: true,
      },
      randomUUID(),
    );
    await until(id, (status) => status === "waiting_for_input" || finished(status));
    const request = await db.jobEvent.findFirstOrThrow({
      where: { jobId: id, type: "input.requested" },
      select: { data: true, seq: true },
    });
    expect((request.data as { plan: string[] }).plan.length).toBeGreaterThan(0);

    // What jobs.respond does: record the answer, then tell the orchestrator.
    const response = {
      action: "edit" as const,
      plan: ["When does autovacuum vacuum a table?", "What does vacuuming remove?"],
    };
    await db.$transaction((tx) =>
      eventLog.appendJobEvents(tx, id, `respond-${request.seq}`, [
        { type: "input.provided", data: response },
      ]),
    );
    const job = await db.job.findUniqueOrThrow({
      where: { id },
      select: { id: true, kind: true, ownerId: true, correlationId: true },
    });
    await jobDispatcher().sendInputProvided(job, response, `${id}-respond-${request.seq}`);

    const row = await until(id, finished);
    expect(row.status).toBe("completed");
    const markdown = (row.result as { markdown: string }).markdown;
    expect(markdown).toMatch(/\[\d+\]/);
    const events = await eventsOf(id);
    expectCleanLog(events);
    const steps = events
      .filter((event) => event.type === "step.started")
      .map((event) => event.step);
    expect(steps).toEqual(
      expect.arrayContaining([
        "plan-sub-questions",
        "search-1",
        "search-2",
        "read-source-1",
        "write-report",
      ]),
    );
    expect(steps).not.toContain("search-3");
    expect(events.map((event) => event.type)).toEqual(
      expect.arrayContaining(["job.resumed", "source.found", "source.read"]),
    );
    const citations = await db.jobCitation.findMany({
      where: { jobId: id },
      select: {
        marker: true,
        source: { select: { ref: true, title: true, read: true, rank: true } },
      },
    });
    expect(citations.length).toBeGreaterThan(0);
    for (const citation of citations) {
      expect(markdown).toContain(`[${citation.marker}]`);
      expect(citation.source.read).toBe(true);
      expect(citation.source.rank).toBe(citation.marker);
      expect(citation.source.ref).toMatch(/^document:/);
    }
    // The sources are the ones read, numbered as the report cites them.
    const sources = await db.jobSource.findMany({
      where: { jobId: id },
      orderBy: { rank: "asc" },
      select: { rank: true, read: true, id: true },
    });
    expect(sources.map((source) => source.rank)).toEqual(sources.map((_, i) => i + 1));
    expect(sources.every((source) => source.read)).toBe(true);
  });

  it("reads the pages a web search provider finds, through the SSRF-safe client, and cites them by URL", async () => {
    const { setSearchProviders } = await import("@/lib/search");
    const { searxngSearch } = await import("@/lib/search/searxng-search");
    const restore = setSearchProviders([searxngSearch(`${docsUrl}/searx`)]);
    try {
      const ownerId = await createTestOwner();
      const { id } = await createJob(
        ownerId,
        { kind: "research", question: "How does vacuum work?", approvePlan: false },
        randomUUID(),
      );
      const row = await until(id, finished);
      expect(row.status).toBe("completed");
      const sources = await db.jobSource.findMany({
        where: { jobId: id },
        orderBy: { rank: "asc" },
        select: { ref: true, url: true, rank: true, read: true },
      });
      expect(sources).toEqual([
        { ref: `url:${docsUrl}/article.html`, url: `${docsUrl}/article.html`, rank: 1, read: true },
        { ref: `url:${docsUrl}/gone.html`, url: `${docsUrl}/gone.html`, rank: 2, read: true },
      ]);
      expect((row.result as { markdown: string }).markdown).toMatch(/\[1\]/);
    } finally {
      restore();
    }
  });

  it("runs straight through without approval and never searches another owner's library", async () => {
    const ownerId = await createTestOwner();
    const stranger = await createTestOwner();
    const { saveDocument } = await import("@/lib/ingest/save-document");
    const secret = await saveDocument({
      ownerId: stranger,
      title: "Vacuum secrets",
      text: "Private notes on vacuum and autovacuum thresholds.",
      mime: "text/plain",
    });
    const { id } = await createJob(
      ownerId,
      { kind: "research", question: "What triggers autovacuum on a table?", approvePlan: false },
      randomUUID(),
    );
    const row = await until(id, finished);
    expect(row.status).toBe("completed");
    const sources = await db.jobSource.findMany({ where: { jobId: id }, select: { ref: true } });
    expect(sources.length).toBeGreaterThan(0);
    expect(sources.map((source) => source.ref)).not.toContain(`document:${secret.id}`);
  });
});
