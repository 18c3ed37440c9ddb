/**
 * A job step whose work is done while PostgreSQL restarts: the app reaches
 * the database through a proxy cut during the work. The step's commit waits
 * for the database instead of failing the step, which the orchestrator would
 * retry after a backoff, doing the work (a model call) again; work that met
 * the outage itself is done again as soon as the database is back.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import type { StepTools } from "@/inngest/functions/_lib/job-step";
import { hostOf, startTcpProxy, type TcpProxy } from "@/test/tcp-proxy";

let proxy: TcpProxy;
let db: typeof import("@/lib/db").db;
let jobStep: typeof import("@/inngest/functions/_lib/job-step").jobStep;
let createTestJob: typeof import("@/test/jobs").createTestJob;

// NOTE: lib/env.ts reads the environment once, on first import.
beforeAll(async () => {
  proxy = await startTcpProxy(hostOf(process.env.DATABASE_URL!));
  process.env.DATABASE_URL = proxy.urlFor(process.env.DATABASE_URL!);
  ({ db } = await import("@/lib/db"));
  ({ jobStep } = await import("@/inngest/functions/_lib/job-step"));
  ({ createTestJob } = await import("@/test/jobs"));
});
afterAll(async () => {
  await proxy?.restore();
  await proxy?.close();
});

const steps = { run: (_id: string, fn: () => Promise<unknown>) => fn() } as unknown as StepTools;

it("commits a step whose work ended while the database restarted, without doing the work again", async () => {
  const { id } = await createTestJob({ status: "running" });
  let runs = 0;
  const value = await jobStep(steps, id, "summarize-part-1", "Part 1", async () => {
    runs++;
    await proxy.cut();
    setTimeout(() => void proxy.restore(), 2000);
    return { value: "summary", events: [{ type: "partial", data: { key: "part-1", text: "s" } }] };
  });
  expect(value).toBe("summary");
  expect(runs).toBe(1);
  const events = await db.jobEvent.findMany({
    where: { jobId: id },
    orderBy: { seq: "asc" },
    select: { type: true },
  });
  expect(events.map((event) => event.type)).toEqual(["step.started", "partial", "step.completed"]);
});

it("does work that met the outage again once the database is back, without failing the step", async () => {
  const { id } = await createTestJob({ status: "running" });
  let runs = 0;
  const value = await jobStep(steps, id, "read-document", "Reading", async () => {
    runs++;
    if (runs === 1) {
      await proxy.cut();
      setTimeout(() => void proxy.restore(), 1500);
    }
    const job = await db.job.findUniqueOrThrow({ where: { id }, select: { title: true } });
    return { value: job.title };
  });
  expect(value).toBe("Test job");
  expect(runs).toBeGreaterThan(1);
});
