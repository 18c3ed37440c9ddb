/**
 * The app process dies mid-job and comes back: the job finishes with nothing
 * lost or repeated. This spec runs its own app (the same production build, on
 * a free port) and its own embedded executor, so it can kill the app with
 * SIGKILL without touching the shared e2e server.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { startExecutor, type Executor } from "@/inngest-executor";
import { expect, test } from "./fixtures";
import { JobsPage } from "./pages/jobs-page";

// playwright.config.ts makes sure it is set.
const databaseUrl = process.env.E2E_DATABASE_URL!;
const nextBin = path.join(process.cwd(), "node_modules", "next", "dist", "bin", "next");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function waitUntilUp(url: string, timeout = 30_000) {
  return expect
    .poll(
      () =>
        fetch(url).then(
          (response) => response.ok,
          () => false,
        ),
      {
        timeout,
        message: `${url} did not come up`,
      },
    )
    .toBe(true);
}

test.describe("jobs survive the app", () => {
  let executor: Executor;
  let app: ChildProcess | undefined;
  let port: number;

  function startApp() {
    // Its own process group, so SIGKILL takes the whole server down at once.
    app = spawn(
      process.execPath,
      [nextBin, "start", "--port", String(port), "--hostname", "127.0.0.1"],
      {
        detached: true,
        stdio: "ignore",
        env: {
          ...process.env,
          NODE_ENV: "production",
          DATABASE_URL: databaseUrl,
          APP_URL: `http://127.0.0.1:${port}`,
          SESSION_SECRET: "e2e-session-secret-not-for-production-use",
          INNGEST_DEV: executor.url,
          AI_PROVIDER: "demo",
          DEMO_MODEL_URL: `http://127.0.0.1:${process.env.DEMO_MODEL_PORT ?? 8887}/v1`,
          NEXT_TELEMETRY_DISABLED: "1",
          LOG_LEVEL: "warn",
        },
      },
    );
    return waitUntilUp(`http://127.0.0.1:${port}/api/health`);
  }

  function killApp() {
    if (app?.pid && app.exitCode === null) process.kill(-app.pid, "SIGKILL");
    app = undefined;
  }

  test.beforeAll(async () => {
    port = await freePort();
    executor = await startExecutor({
      databaseUrl,
      port: 0,
      schema: `inngest_executor_restart_${port}`,
      appUrls: [`http://127.0.0.1:${port}/api/inngest`],
      resyncIntervalMs: 1_000,
      retryBaseMs: 200,
      retryMaxMs: 1_000,
      log: () => undefined,
    });
    await startApp();
  });

  test.afterAll(async () => {
    killApp();
    await executor?.stop();
  });

  test("kill the app mid-job with SIGKILL, start it again, and the job finishes", async ({
    page,
    jobPage,
  }) => {
    test.setTimeout(120_000);
    const base = `http://127.0.0.1:${port}`;
    const jobs = new JobsPage(page);
    await jobs.goto(base);
    const paragraphs = Array.from(
      { length: 400 },
      (_, i) =>
        `Paragraph ${i + 1}. Checkpoints flush dirty pages so that crash recovery replays less write-ahead log. [[demo:tps=15]]`,
    );
    await jobs.startSummary(paragraphs.join("\n\n"));
    await expect(jobPage.partialResults.first()).toBeVisible({ timeout: 30_000 });

    await jobPage.expectStatus("running");
    killApp();
    await startApp();

    await page.reload();
    await jobPage.expectStatus("completed", { timeout: 60_000 });
    const seqs = await jobPage.eventSeqs();
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    const lines = await jobPage.eventLines();
    const starts = lines
      .filter((line) => line.endsWith("step.started"))
      .map((line) => line.split(" · ")[1]);
    expect(new Set(starts).size).toBe(starts.length);
    expect(lines.filter((line) => line.endsWith("job.completed"))).toHaveLength(1);
  });
});
