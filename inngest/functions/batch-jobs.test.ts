/**
 * Batch jobs end to end: the real SDK serving the functions over loopback
 * HTTP, the embedded executor running them, the offline demo model answering
 * live and through its OpenAI-compatible Batch API, and Postgres holding the
 * items, the provider batches and the tokens spent.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { serve } from "inngest/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoModel, type DemoModelServer } from "@/lib/ai/demo-model/server";
import { startSmtpSink, type SmtpSink } from "@/lib/email/sink";
import { startExecutor, type Executor } from "@/inngest-executor";
import { dropSchema, testSchema } from "@/inngest-executor/testing/helpers";
import { itemWorstCaseMicros } from "@/lib/jobs/batch/prompt";
import { waitUntil } from "@/test/wait";

const schema = testSchema("batch_fn");
let model: DemoModelServer;
let sink: SmtpSink;
let executor: Executor;
let app: http.Server;
let docs: http.Server;
let docsUrl: string;
let restorePolicy: () => void;

let db: typeof import("@/lib/db").db;
let createJob: typeof import("@/lib/jobs/create").createJob;
let createTestOwner: typeof import("@/test/jobs").createTestOwner;
let cancelJob: typeof import("@/lib/jobs/cancel").cancelJob;
let authorizeJob: typeof import("@/lib/jobs/access").authorizeJob;
let jobCost: typeof import("@/lib/jobs/cost").jobCost;

const paragraph = (n: number) =>
  `Item ${n}. The autovacuum daemon removes dead row versions left behind by updates and deletes. ` +
  `It also refreshes planner statistics so that queries keep choosing good plans.`;

/** A CSV with a header and one quoted text per row; `extra` appends to a row's text by number. */
function csv(rows: number, extra: Record<number, string> = {}): string {
  const lines = ["id,text"];
  for (let n = 1; n <= rows; n++)
    lines.push(`row-${n},"${`${paragraph(n)} ${extra[n] ?? ""}`.trim().replace(/"/g, '""')}"`);
  return lines.join("\n");
}

// NOTE: lib/env.ts reads the environment once, on first import, so the app's
// modules load only after the model and executor URLs are known.
beforeAll(async () => {
  model = await startDemoModel({
    port: 0,
    ttftMs: 0,
    tokensPerSecond: 0,
    batch: { delayMs: 100, rowsPerSecond: 20 },
  });
  executor = await startExecutor({
    databaseUrl: process.env.DATABASE_URL,
    port: 0,
    schema,
    retryBaseMs: 20,
    retryMaxMs: 100,
    log: () => undefined,
  });
  sink = await startSmtpSink({ port: 0, databaseUrl: process.env.DATABASE_URL! });
  process.env.SMTP_URL = sink.url;
  process.env.DEMO_MODEL_URL = model.url;
  process.env.AI_PROVIDER = "demo";
  process.env.INNGEST_DEV = executor.url;
  process.env.BATCH_POLL_MIN_MS = "1000";
  process.env.BATCH_POLL_MAX_MS = "1000";
  // The demo model is free; a price makes the costs and the budget testable.
  process.env.AI_PRICES = JSON.stringify({ "dispatch-demo": { input: "1", output: "4" } });

  ({ db } = await import("@/lib/db"));
  ({ createJob } = await import("@/lib/jobs/create"));
  ({ createTestOwner } = await import("@/test/jobs"));
  ({ cancelJob } = await import("@/lib/jobs/cancel"));
  ({ authorizeJob } = await import("@/lib/jobs/access"));
  ({ jobCost } = await import("@/lib/jobs/cost"));
  const { setDocumentNetworkPolicy } = await import("@/lib/ingest/download-document");
  restorePolicy = setDocumentNetworkPolicy({ allowPrivateNetworks: true });
  docs = http.createServer((req, res) => {
    const page = /^\/page-(\d+)\.html$/.exec(req.url ?? "");
    if (page) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(
        `<!doctype html><html><head><title>Page ${page[1]}</title></head><body><article><h1>Page ${page[1]}</h1><p>${paragraph(Number(page[1]))}</p></article></body></html>`,
      );
    } else {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not here");
    }
  });
  await new Promise<void>((resolve) => docs.listen(0, "127.0.0.1", () => resolve()));
  docsUrl = `http://127.0.0.1:${(docs.address() as AddressInfo).port}`;
  const { inngest } = await import("@/inngest/client");
  const { functions } = await import("@/inngest/functions");
  const handler = serve({
    client: inngest,
    // Not the sweeper: its ticks would run other test files' queued jobs (one database).
    functions: functions.filter((fn) => fn.id() !== "resend-queued-jobs"),
  });
  app = http.createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", () => resolve()));
  await executor.sync(`http://127.0.0.1:${(app.address() as AddressInfo).port}/api/inngest`);
});

afterAll(async () => {
  restorePolicy?.();
  await new Promise<void>((resolve) => docs?.close(() => resolve()));
  app?.closeAllConnections();
  await new Promise<void>((resolve) => app?.close(() => resolve()));
  await executor?.stop();
  await model?.stop();
  await sink?.stop();
  await dropSchema(schema);
});

interface BatchResult {
  markdown: string;
  total: number;
  done: number;
  failed: number;
  partial: boolean;
  stopReason: string | null;
}

async function finished(id: string, timeout = 60_000) {
  const row = await waitUntil(
    () => db.job.findUniqueOrThrow({ where: { id }, select: { status: true, result: true } }),
    (job) => ["completed", "failed", "cancelled"].includes(job.status),
    { timeout, interval: 100, what: `job ${id}'s status` },
  );
  return { status: row.status, result: row.result as unknown as BatchResult };
}

function itemsOf(jobId: string) {
  return db.batchItem.findMany({
    where: { jobId },
    orderBy: { position: "asc" },
    select: {
      position: true,
      label: true,
      status: true,
      summary: true,
      errorCode: true,
      attempts: true,
      mode: true,
    },
  });
}

async function startBatch(
  options: {
    rows?: number;
    content?: string;
    format?: "csv" | "jsonl";
    mode?: "now" | "economy";
    retry?: "batch" | "live";
    budget?: string;
    notifyEmail?: string;
  } = {},
) {
  const ownerId = await createTestOwner();
  const job = await createJob(
    ownerId,
    {
      kind: "batch",
      mode: options.mode ?? "economy",
      retry: options.retry ?? "batch",
      source: {
        type: "table",
        format: options.format ?? "csv",
        fileName: "texts.csv",
        content: options.content ?? csv(options.rows ?? 5),
      },
      budget: options.budget,
      notifyEmail: options.notifyEmail,
    },
    randomUUID(),
  );
  return { ...job, ownerId };
}

async function stepsOf(jobId: string) {
  const rows = await db.jobEvent.findMany({
    where: { jobId, type: { in: ["step.completed", "batch.status"] } },
    select: { step: true },
  });
  return new Set(rows.map((row) => row.step));
}

describe("batch jobs, economy mode", { timeout: 120_000 }, () => {
  it("summarizes every row through the demo Batch API in a constant number of steps, at half the live price", async () => {
    const address = `batch-${randomUUID()}@example.test`;
    const { id } = await startBatch({ rows: 12, notifyEmail: address });
    const { status, result } = await finished(id);
    expect(status).toBe("completed");
    expect(result).toMatchObject({ total: 12, done: 12, failed: 0, partial: false });
    expect(result.markdown).toMatch(/12 of 12 items summarized, 0 failed/);
    const items = await itemsOf(id);
    expect(items.map((item) => item.label)).toEqual(
      Array.from({ length: 12 }, (_, i) => `row-${i + 1}`),
    );
    for (const item of items) {
      expect(item).toMatchObject({ status: "done", mode: "batch", attempts: 1 });
      expect(item.summary).toMatch(/autovacuum|dead row|planner/i);
    }
    const batches = await db.providerBatch.findMany({
      where: { jobId: id },
      select: { round: true, state: true },
    });
    expect(batches).toEqual([{ round: 1, state: "completed" }]);
    const steps = [...(await stepsOf(id))];
    // Submit, read, finish, settings; polls depend on time, never on the item count.
    expect(steps.filter((step) => !step.startsWith("poll-batch-")).sort()).toEqual([
      "finish-batch",
      "read-results-1",
      "read-settings",
      "submit-batch-1",
    ]);
    const statuses = await db.jobEvent.findMany({
      where: { jobId: id, type: "batch.status" },
      orderBy: { seq: "asc" },
      select: { data: true },
    });
    expect(statuses.at(-1)?.data).toMatchObject({ state: "completed", total: 12, done: 12 });
    const cost = await jobCost(id);
    expect(cost.calls).toBe(12);
    expect(cost.micros).toBeGreaterThan(0);
    expect(cost.liveMicros).toBe(cost.micros * 2);
    expect(cost.economy).toBe(true);

    // One email, with the counts and the cost beside the live price.
    const mail = await waitUntil(
      () =>
        db.mailboxMessage.findMany({
          where: { envelopeTo: { contains: address } },
          select: { subject: true, text: true },
        }),
      (messages) => messages.length > 0,
      { timeout: 30_000, interval: 100, what: "the outcome email" },
    );
    expect(mail).toHaveLength(1);
    expect(mail[0]!.subject).toBe("Done: 12 summaries from texts.csv");
    expect(mail[0]!.text).toContain("12 of 12 items summarized, 0 failed.");
    expect(mail[0]!.text).toMatch(
      /Cost: \$0\.\d+ in economy mode \(the same work live: \$0\.\d+\)/,
    );
    expect(await db.notification.count({ where: { jobId: id } })).toBe(1);
  });

  it("resubmits the rows of an expired batch in a new round", async () => {
    const { id } = await startBatch({
      rows: 6,
      content: csv(6, { 6: "[[demo:batch-expire after=3]]" }),
    });
    const { status, result } = await finished(id);
    expect(status).toBe("completed");
    expect(result).toMatchObject({ total: 6, done: 6, failed: 0, partial: false });
    const batches = await db.providerBatch.findMany({
      where: { jobId: id },
      orderBy: { round: "asc" },
      select: { round: true, state: true },
    });
    expect(batches).toEqual([
      { round: 1, state: "expired" },
      { round: 2, state: "completed" },
    ]);
    const retried = (await itemsOf(id)).filter((item) => item.attempts === 2);
    expect(retried.length).toBe(3);
  });

  it("retries only the failed rows: in a new batch, or live when asked", async () => {
    const content = csv(4, { 2: "[[demo:fail-500 times=1]]" });
    const inBatch = await startBatch({ content, retry: "batch" });
    const live = await startBatch({
      content: csv(4, { 3: "[[demo:fail-429 times=1]]" }),
      retry: "live",
    });
    const [batchOutcome, liveOutcome] = await Promise.all([
      finished(inBatch.id),
      finished(live.id),
    ]);
    expect(batchOutcome.result).toMatchObject({ done: 4, failed: 0 });
    expect(liveOutcome.result).toMatchObject({ done: 4, failed: 0 });

    const batchItems = await itemsOf(inBatch.id);
    expect(batchItems.map((item) => [item.position, item.attempts, item.mode])).toEqual([
      [1, 1, "batch"],
      [2, 2, "batch"],
      [3, 1, "batch"],
      [4, 1, "batch"],
    ]);
    const liveItems = await itemsOf(live.id);
    expect(liveItems[2]).toMatchObject({ attempts: 2, mode: "live", status: "done" });
    expect(liveItems.filter((item) => item.mode === "batch")).toHaveLength(3);
    expect(await db.providerBatch.count({ where: { jobId: live.id } })).toBe(1);
    const cost = await jobCost(live.id);
    // One of four items at the live price: more than half the all-live cost.
    expect(cost.micros).toBeGreaterThan(cost.liveMicros / 2);
    expect(cost.micros).toBeLessThan(cost.liveMicros);
  });

  it("holds back what its budget may not cover for a later round, priced on what was spent", async () => {
    // The budget covers about four items' worst case in a batch, and 10 items' real cost.
    const budget = 20_000;
    const worstCase = itemWorstCaseMicros(
      paragraph(10),
      {
        inputMicrosPerMillion: 1_000_000,
        outputMicrosPerMillion: 4_000_000,
        batchDiscountPercent: 50,
      },
      "batch",
    );
    expect(Math.floor(budget / worstCase)).toBeLessThan(10);
    const { id } = await startBatch({ rows: 10, budget: "0.02" });
    const { status, result } = await finished(id);
    expect(status).toBe("completed");
    expect(result).toMatchObject({ total: 10, done: 10, failed: 0, partial: false });
    const rounds = await db.providerBatch.count({ where: { jobId: id } });
    expect(rounds).toBeGreaterThan(1);
    const submitted = await db.jobEvent.findMany({
      where: { jobId: id, type: "batch.submitted" },
      orderBy: { seq: "asc" },
      select: { data: true },
    });
    expect(submitted[0]?.data).toMatchObject({
      round: 1,
      heldForBudget: 10 - Math.floor(budget / worstCase),
    });
    const cost = await jobCost(id);
    expect(cost.micros).toBeLessThanOrEqual(budget);
  });

  it("with a budget below one item's worst case, sends nothing and completes partial", async () => {
    const { id } = await startBatch({ rows: 3, budget: "0.001" });
    const { status, result } = await finished(id);
    expect(status).toBe("completed");
    expect(result).toMatchObject({
      total: 3,
      done: 0,
      failed: 3,
      partial: true,
      stopReason: "budget",
    });
    expect(await db.providerBatch.count({ where: { jobId: id } })).toBe(0);
    expect((await jobCost(id)).micros).toBe(0);
  });

  it("cancel cancels the provider batch, and the job ends cancelled", async () => {
    const { id, ownerId } = await startBatch({ rows: 200 });
    await waitUntil(
      () => db.providerBatch.findFirst({ where: { jobId: id }, select: { state: true } }),
      (batch) => batch !== null,
      { timeout: 30_000, interval: 50, what: "the provider batch" },
    );
    const { job } = await authorizeJob({ ownerId }, id, null, "act");
    await cancelJob(job);
    const { status } = await finished(id);
    expect(status).toBe("cancelled");
    const batch = await waitUntil(
      () => db.providerBatch.findFirstOrThrow({ where: { jobId: id }, select: { state: true } }),
      (row) => ["cancelling", "cancelled"].includes(row.state),
      { timeout: 30_000, interval: 100, what: "the provider batch's state" },
    );
    expect(["cancelling", "cancelled"]).toContain(batch.state);
  });

  it("stops at the deadline: the provider batch is cancelled and the job completes with what it has, partial", async () => {
    const { id } = await startBatch({ rows: 200 });
    await waitUntil(
      () => db.batchItem.count({ where: { jobId: id, status: "submitted" } }),
      (count) => count === 200,
      { timeout: 30_000, interval: 50, what: "the submitted items" },
    );
    // A deadline a minute out would make the test wait a minute: move it to now.
    await db.job.update({ where: { id }, data: { deadlineAt: new Date() }, select: { id: true } });
    const { status, result } = await finished(id);
    expect(status).toBe("completed");
    expect(result).toMatchObject({ total: 200, partial: true, stopReason: "deadline" });
    expect(result.done).toBeLessThan(200);
    expect(result.done + result.failed).toBe(200);
    expect(result.markdown).toMatch(/Partial results: The job reached its deadline/);
    const batch = await db.providerBatch.findFirstOrThrow({
      where: { jobId: id },
      select: { state: true },
    });
    expect(batch.state).toBe("cancelled");
    const stopped = (await itemsOf(id)).filter((item) => item.status === "failed");
    expect(stopped.every((item) => ["deadline", "cancelled"].includes(item.errorCode ?? ""))).toBe(
      true,
    );
  });
});

describe("batch jobs, now mode", { timeout: 120_000 }, () => {
  it("reads web pages first; a page that cannot be read fails its own item only", async () => {
    const ownerId = await createTestOwner();
    const { id } = await createJob(
      ownerId,
      {
        kind: "batch",
        mode: "now",
        retry: "batch",
        source: {
          type: "urls",
          urls: [`${docsUrl}/page-1.html`, `${docsUrl}/gone.html`, `${docsUrl}/page-3.html`],
        },
      },
      randomUUID(),
    );
    const { result } = await finished(id);
    expect(result).toMatchObject({ total: 3, done: 2, failed: 1, partial: false });
    const items = await itemsOf(id);
    expect(items.map((item) => [item.label, item.status, item.errorCode])).toEqual([
      ["Page 1", "done", null],
      ["127.0.0.1/gone.html", "failed", "http_error"],
      ["Page 3", "done", null],
    ]);
    expect(items[0]!.summary).toMatch(/autovacuum|dead row|planner/i);
  });

  it("summarizes JSONL rows live, each with its own result, and records live tokens", async () => {
    const content = [1, 2, 3]
      .map((n) => JSON.stringify({ title: `T${n}`, text: paragraph(n) }))
      .join("\n");
    const { id } = await startBatch({ mode: "now", format: "jsonl", content });
    const { result } = await finished(id);
    expect(result).toMatchObject({ total: 3, done: 3, failed: 0, partial: false });
    const items = await itemsOf(id);
    expect(items.map((item) => [item.label, item.mode, item.status])).toEqual([
      ["T1", "live", "done"],
      ["T2", "live", "done"],
      ["T3", "live", "done"],
    ]);
    const cost = await jobCost(id);
    expect(cost.calls).toBe(3);
    expect(cost.micros).toBe(cost.liveMicros);
    expect(cost.economy).toBe(false);
  });

  it("never overspends its budget: parallel slices take only what fits in their share, the rest is partial", async () => {
    // About six items' worst case (≈ 8.7k micro-dollars each at this price): far less than 100 rows.
    const budget = 50_000;
    const { id } = await startBatch({ mode: "now", rows: 100, budget: "0.05" });
    const { status, result } = await finished(id);
    expect(status).toBe("completed");
    expect(result).toMatchObject({ total: 100, partial: true, stopReason: "budget" });
    expect(result.done).toBeGreaterThan(0);
    expect(result.done + result.failed).toBe(100);
    const items = await itemsOf(id);
    const held = items.filter((item) => item.errorCode === "budget");
    expect(held.length).toBe(result.failed);
    // Held items never ran: no attempt, no tokens.
    expect(held.every((item) => item.attempts === 0)).toBe(true);
    const cost = await jobCost(id);
    expect(cost.micros).toBeGreaterThan(0);
    expect(cost.micros).toBeLessThanOrEqual(budget);
  });
});

describe("research: economy mode, budget and deadline", { timeout: 120_000 }, () => {
  async function researchOwner() {
    const { saveDocument } = await import("@/lib/ingest/save-document");
    const ownerId = await createTestOwner();
    for (const [title, text] of [
      [
        "Vacuum thresholds",
        "Autovacuum vacuums a table once its dead tuples pass autovacuum_vacuum_threshold plus the scale factor times its size.",
      ],
      [
        "Vacuum and statistics",
        "Autovacuum also runs ANALYZE on tables whose rows changed a lot, so the planner keeps good statistics.",
      ],
    ] as const)
      await saveDocument({ ownerId, title, text, mime: "text/plain" });
    return ownerId;
  }

  it("condenses the sources it read through the demo Batch API, then writes the report live", async () => {
    const ownerId = await researchOwner();
    const { id } = await createJob(
      ownerId,
      { kind: "research", question: "When does autovacuum vacuum a table?", economy: true },
      randomUUID(),
    );
    const row = await waitUntil(
      () => db.job.findUniqueOrThrow({ where: { id }, select: { status: true, result: true } }),
      (job) => ["completed", "failed", "cancelled"].includes(job.status),
      { timeout: 60_000, interval: 100, what: "the research job" },
    );
    expect(row.status).toBe("completed");
    expect((row.result as { markdown: string }).markdown).toMatch(/\[\d\]/);
    const batches = await db.providerBatch.findMany({
      where: { jobId: id },
      select: { round: true, state: true },
    });
    expect(batches).toEqual([{ round: 1, state: "completed" }]);
    const usage = await db.jobUsage.findMany({
      where: { jobId: id },
      select: { step: true, mode: true, calls: true },
    });
    const sources = await db.jobSource.count({ where: { jobId: id, read: true } });
    expect(sources).toBeGreaterThan(0);
    expect(usage).toEqual(
      expect.arrayContaining([
        { step: "read-condensed-sources", mode: "batch", calls: sources },
        { step: "write-report", mode: "live", calls: 1 },
        { step: "plan-sub-questions", mode: "live", calls: 1 },
      ]),
    );
    const cost = await jobCost(id);
    expect(cost.economy).toBe(true);
    expect(cost.micros).toBeLessThan(cost.liveMicros);
  });

  it("with a budget that covers the plan but not the report's worst case, completes partial with the sources read", async () => {
    const ownerId = await researchOwner();
    const budget = 20_000;
    const { id } = await createJob(
      ownerId,
      { kind: "research", question: "When does autovacuum vacuum a table?", budget: "0.02" },
      randomUUID(),
    );
    const { status, result } = await finished(id);
    expect(status).toBe("completed");
    expect(result).toMatchObject({ partial: true, stopReason: "budget" });
    expect(result.markdown).toMatch(
      /^\*\*Partial result\.\*\* The rest of the work could cost more/,
    );
    expect(await db.jobSource.count({ where: { jobId: id, read: true } })).toBeGreaterThan(0);
    const usage = await db.jobUsage.findMany({ where: { jobId: id }, select: { step: true } });
    expect(usage.map((row) => row.step)).toEqual(["plan-sub-questions"]);
    const cost = await jobCost(id);
    expect(cost.micros).toBeGreaterThan(0);
    expect(cost.micros).toBeLessThanOrEqual(budget);
  });

  it("past its deadline fetches nothing more and completes partial, without the report", async () => {
    const ownerId = await researchOwner();
    const { id } = await createJob(
      ownerId,
      {
        kind: "research",
        question: "When does autovacuum vacuum a table?",
        approvePlan: true,
        deadlineMinutes: 60,
      },
      randomUUID(),
    );
    await waitUntil(
      () => db.job.findUniqueOrThrow({ where: { id }, select: { status: true } }),
      (job) => job.status === "waiting_for_input",
      { timeout: 60_000, interval: 100, what: "the plan to approve" },
    );
    // The user comes back after the deadline and approves the plan.
    await db.job.update({ where: { id }, data: { deadlineAt: new Date(Date.now() - 1_000) } });
    const { respondToJob } = await import("@/lib/jobs/respond");
    const { job } = await authorizeJob({ ownerId }, id, null, "act");
    await respondToJob(job, { action: "approve" });
    const { status, result } = await finished(id);
    expect(status).toBe("completed");
    expect(result).toMatchObject({ partial: true, stopReason: "deadline" });
    expect(result.markdown).toMatch(/reached its deadline/);
    const usage = await db.jobUsage.findMany({ where: { jobId: id }, select: { step: true } });
    expect(usage.map((row) => row.step)).toEqual(["plan-sub-questions"]);
  });
});
