/**
 * Durability: the executor and the app run as real child processes and are
 * killed with SIGKILL mid-run. After a restart every run completes, and a step
 * whose result was recorded before the kill never runs again (only the step in
 * flight may run twice: at-least-once, as with Inngest).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  databaseUrl,
  dropSchema,
  sendEvent,
  testSchema,
  waitFor,
  waitForRuns,
} from "./testing/helpers";
import { freePort } from "@/scripts/lib/ports";

const children = new Set<ChildProcess>();
const schemas: string[] = [];
const dir = mkdtempSync(path.join(tmpdir(), "executor-crash-"));

function startProcess(script: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    cwd: process.cwd(),
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

async function waitUntilUp(url: string): Promise<void> {
  await waitFor(
    () =>
      fetch(url).then(
        (res) => res.status,
        () => 0,
      ),
    (status) => status === 200,
    20_000,
  );
}

interface Setup {
  executorUrl: string;
  appUrl: string;
  stepLog: string;
  startExecutor(): Promise<ChildProcess>;
  startApp(): Promise<ChildProcess>;
}

async function setup(label: string): Promise<Setup> {
  const schema = testSchema(label);
  schemas.push(schema);
  const [executorPort, appPort] = [await freePort(), await freePort()];
  const executorUrl = `http://127.0.0.1:${executorPort}`;
  const appUrl = `http://127.0.0.1:${appPort}/api/inngest`;
  const stepLog = path.join(dir, `${label}.log`);
  return {
    executorUrl,
    appUrl,
    stepLog,
    async startExecutor() {
      const child = startProcess("inngest-executor/main.ts", {
        EXECUTOR_PORT: String(executorPort),
        EXECUTOR_DATABASE_URL: databaseUrl(),
        EXECUTOR_SCHEMA: schema,
        EXECUTOR_APP_URL: appUrl,
        EXECUTOR_RETRY_BASE_MS: "50",
      });
      await waitUntilUp(`${executorUrl}/health`);
      return child;
    },
    async startApp() {
      const child = startProcess("inngest-executor/fixtures/crash-test-app.ts", {
        APP_PORT: String(appPort),
        INNGEST_DEV: executorUrl,
        STEP_LOG: stepLog,
        STEP_MS: "150",
      });
      await waitUntilUp(appUrl);
      return child;
    },
  };
}

function stepStarts(stepLog: string, tag: string): Map<string, number> {
  const counts = new Map<string, number>();
  if (!existsSync(stepLog)) return counts;
  for (const line of readFileSync(stepLog, "utf8").split("\n")) {
    const [lineTag, step] = line.split(":");
    if (lineTag === tag && step) counts.set(step, (counts.get(step) ?? 0) + 1);
  }
  return counts;
}

async function waitForStepStart(stepLog: string, tag: string, step: string): Promise<void> {
  await waitFor(
    async () => stepStarts(stepLog, tag).get(step) ?? 0,
    (n) => n > 0,
    20_000,
  );
}

/** Steps before the one in flight at the kill ran exactly once; the one in flight at most twice. */
function expectNoRecomputation(stepLog: string, tag: string, inFlight: number): void {
  const counts = stepStarts(stepLog, tag);
  for (let i = 0; i < 6; i++) {
    const n = counts.get(`step-${i}`) ?? 0;
    if (i === inFlight) expect(n, `step-${i}`).toBeLessThanOrEqual(2);
    else expect(n, `step-${i}`).toBe(1);
  }
}

afterEach(async () => {
  await Promise.all([...children].map(killHard));
});

afterAll(async () => {
  for (const schema of schemas) await dropSchema(schema);
  rmSync(dir, { recursive: true, force: true });
});

async function sendWhenSynced(
  executorUrl: string,
  event: Record<string, unknown>,
): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const [eventId] = await sendEvent(executorUrl, { ...event, id: undefined });
    const runs = await fetch(`${executorUrl}/v1/events/${eventId}/runs`).then(
      (res) => res.json() as Promise<{ data: unknown[] }>,
    );
    if (runs.data.length > 0 && eventId) return eventId;
    if (Date.now() > deadline) throw new Error("app never synced");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("crash and restart", () => {
  it("completes a run after the executor is killed mid-step, reusing completed steps", async () => {
    const s = await setup("kill-executor");
    await s.startApp();
    const executor = await s.startExecutor();
    const eventId = await sendWhenSynced(s.executorUrl, {
      name: "crash/start",
      data: { tag: "a" },
    });
    await waitForStepStart(s.stepLog, "a", "step-3");
    await killHard(executor);
    await s.startExecutor();
    const [run] = await waitForRuns(s.executorUrl, eventId, 1, 30_000);
    expect(run).toMatchObject({ status: "Completed", output: { tag: "a", sum: 55 } });
    expectNoRecomputation(s.stepLog, "a", 3);
  });

  it("completes a run after the app is killed mid-step and restarted", async () => {
    const s = await setup("kill-app");
    const app = await s.startApp();
    await s.startExecutor();
    const eventId = await sendWhenSynced(s.executorUrl, {
      name: "crash/start",
      data: { tag: "b" },
    });
    await waitForStepStart(s.stepLog, "b", "step-2");
    await killHard(app);
    await s.startApp();
    const [run] = await waitForRuns(s.executorUrl, eventId, 1, 30_000);
    expect(run).toMatchObject({ status: "Completed", output: { tag: "b", sum: 55 } });
    expectNoRecomputation(s.stepLog, "b", 2);
  });

  it("keeps sleeps and waits across an executor restart", async () => {
    const s = await setup("kill-during-sleep");
    await s.startApp();
    const executor = await s.startExecutor();
    const eventId = await sendWhenSynced(s.executorUrl, {
      name: "crash/sleepy",
      data: { tag: "d" },
    });
    // Kill once the run is asleep: "before" is recorded then, so it must never run again.
    await waitFor(
      () => fetch(s.executorUrl).then((res) => res.text()),
      (html) => html.includes('data-step="nap" data-op="Sleep" data-status="waiting"'),
      20_000,
    );
    await killHard(executor);
    await s.startExecutor();
    // The wait is registered once the sleep (persisted before the kill) is over.
    await waitFor(
      () => fetch(s.executorUrl).then((res) => res.text()),
      (html) => html.includes("approval"),
      20_000,
    );
    await sendEvent(s.executorUrl, { name: "crash/approved", data: { tag: "d", by: "carol" } });
    const [run] = await waitForRuns(s.executorUrl, eventId, 1, 30_000);
    expect(run).toMatchObject({ status: "Completed", output: { approvedBy: "carol" } });
    expect(stepStarts(s.stepLog, "d")).toEqual(
      new Map([
        ["before", 1],
        ["after", 1],
      ]),
    );
  });

  it("completes every run after both processes are killed with several runs in flight", async () => {
    const s = await setup("kill-both");
    const app = await s.startApp();
    const executor = await s.startExecutor();
    const tags = ["c1", "c2", "c3", "c4"];
    const eventIds: string[] = [];
    for (const tag of tags)
      eventIds.push(await sendWhenSynced(s.executorUrl, { name: "crash/start", data: { tag } }));
    await waitForStepStart(s.stepLog, "c1", "step-1");
    await Promise.all([killHard(executor), killHard(app)]);
    await s.startApp();
    await s.startExecutor();
    for (const [index, eventId] of eventIds.entries()) {
      const [run] = await waitForRuns(s.executorUrl, eventId, 1, 30_000);
      expect(run).toMatchObject({ status: "Completed", output: { tag: tags[index], sum: 55 } });
      const counts = stepStarts(s.stepLog, tags[index] ?? "");
      // Each step ran, and no step ran more than twice (once before the kill, once after).
      for (let i = 0; i < 6; i++) expect(counts.get(`step-${i}`) ?? 0).toBeGreaterThanOrEqual(1);
      expect([...counts.values()].filter((n) => n > 1).length).toBeLessThanOrEqual(1);
    }
  });
});
