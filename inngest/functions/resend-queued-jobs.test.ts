/**
 * The sweeper end to end: a job whose request never reached the orchestrator
 * (the app died after its row, or the orchestrator stayed unreachable) runs
 * once the sweeper's cron tick sends it again, and a second sweep starts no
 * second run. The real SDK serves the functions, the embedded executor fires
 * the ticks (brought forward here instead of waiting for the minute).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { serve } from "inngest/node";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoModel, type DemoModelServer } from "@/lib/ai/demo-model/server";
import type { Executor } from "@/inngest-executor";
import { dropSchema, startTestExecutor, testSchema } from "@/inngest-executor/testing/helpers";
import { waitUntil } from "@/test/wait";

const schema = testSchema("resend");
let model: DemoModelServer;
let executor: Executor;
let app: http.Server;
let pool: pg.Pool;

let db: typeof import("@/lib/db").db;
let createJob: typeof import("@/lib/jobs/create").createJob;
let jobs: typeof import("@/test/jobs");

// NOTE: lib/env.ts reads the environment once, on first import, so the app's
// modules load only after the model and executor URLs are known.
beforeAll(async () => {
  model = await startDemoModel({ port: 0, ttftMs: 0, tokensPerSecond: 0 });
  executor = await startTestExecutor({ schema });
  process.env.DEMO_MODEL_URL = model.url;
  process.env.AI_PROVIDER = "demo";
  process.env.INNGEST_DEV = executor.url;
  pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });

  ({ db } = await import("@/lib/db"));
  ({ createJob } = await import("@/lib/jobs/create"));
  jobs = await import("@/test/jobs");
  const { inngest } = await import("@/inngest/client");
  const { summarizeDocument } = await import("@/inngest/functions/summarize-document");
  const { resendQueuedJobs } = await import("@/inngest/functions/resend-queued-jobs");
  const handler = serve({ client: inngest, functions: [summarizeDocument, resendQueuedJobs] });
  app = http.createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", () => resolve()));
  await executor.sync(`http://127.0.0.1:${(app.address() as AddressInfo).port}/api/inngest`);
});

afterAll(async () => {
  app?.closeAllConnections();
  await new Promise<void>((resolve) => app?.close(() => resolve()));
  await executor?.stop();
  await model?.stop();
  await pool?.end();
  await dropSchema(schema);
});

/** Fires the sweeper's next tick now; resolves with the number of its runs finished by then. */
async function sweep(): Promise<void> {
  const before = await finishedSweeps();
  await pool.query(
    `UPDATE ${schema}.cron_schedules SET next_at = now() WHERE function_id LIKE '%resend-queued-jobs'`,
  );
  await waitUntil(finishedSweeps, (n) => n > before, { timeout: 20_000, what: "a sweep" });
}

async function finishedSweeps(): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${schema}.runs WHERE function_id LIKE '%resend-queued-jobs' AND status = 'completed'`,
  );
  return Number(rows[0]!.n);
}

async function runsOf(jobId: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${schema}.runs WHERE function_id LIKE '%summarize-document' AND events->0->'data'->>'jobId' = $1`,
    [jobId],
  );
  return Number(rows[0]!.n);
}

describe("resend-queued-jobs", () => {
  it("runs a job whose request never arrived, once, however often it sweeps", async () => {
    const ownerId = await jobs.createTestOwner();
    const stub = jobs.stubJobDispatcher();
    stub.failSends = true;
    let id: string;
    try {
      ({ id } = await createJob(
        ownerId,
        {
          kind: "summarize",
          source: { type: "text", text: "Vacuum removes dead rows. ".repeat(20) },
        },
        randomUUID(),
      ));
    } finally {
      stub.restore();
    }
    expect(stub.sent).toEqual([]);
    // Too young: a send may still be under way.
    await sweep();
    expect(await runsOf(id)).toBe(0);

    await db.$executeRaw`UPDATE jobs SET created_at = now() - interval '1 minute' WHERE id = ${id}`;
    await sweep();
    const row = await waitUntil(
      () => db.job.findUniqueOrThrow({ where: { id }, select: { status: true } }),
      (job) => job.status === "completed",
      { timeout: 20_000, what: "the job completed" },
    );
    expect(row.status).toBe("completed");

    // A later sweep finds nothing queued; the repeat of a request already received is dropped.
    await sweep();
    const { jobRequestedEvent } = await import("@/lib/jobs/events");
    const { inngest } = await import("@/inngest/client");
    const job = await db.job.findUniqueOrThrow({
      where: { id },
      select: { id: true, kind: true, ownerId: true, correlationId: true },
    });
    await inngest.send(jobRequestedEvent(job));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await runsOf(id)).toBe(1);
    const types = await db.jobEvent.findMany({
      where: { jobId: id, type: { startsWith: "job." } },
      orderBy: { seq: "asc" },
      select: { type: true },
    });
    expect(types.map((event) => event.type)).toEqual([
      "job.queued",
      "job.started",
      "job.completed",
    ]);
  });
});
