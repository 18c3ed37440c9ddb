/**
 * The app process dies mid-job and comes back: the job finishes with nothing
 * lost or repeated. This spec runs its own app (the same production build, on
 * a free port) and its own embedded executor, so it can kill the app with
 * SIGKILL without touching the shared e2e server.
 */
import { AppProcess, freePort } from "./fixtures/app-process";
import { startExecutor, type Executor } from "@/inngest-executor";
import { expect, test } from "./fixtures";
import { JobsPage } from "./pages/jobs-page";

// playwright.config.ts makes sure it is set.
const databaseUrl = process.env.E2E_DATABASE_URL!;

test.describe("jobs survive the app", () => {
  let executor: Executor;
  let app: AppProcess;
  let port: number;

  function startApp() {
    app = new AppProcess(port, { INNGEST_DEV: executor.url });
    return app.start();
  }

  function killApp() {
    app?.kill();
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
