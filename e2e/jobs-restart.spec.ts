/**
 * The app process dies mid-job and comes back: the job finishes with nothing
 * lost or repeated. This spec runs its own app (the same production build, on
 * a free port) and its own embedded executor, so it can kill the app with
 * SIGKILL without touching the shared e2e server.
 */
import { expect, test } from "@playwright/test";
import { AppProcess, freePort } from "./fixtures/app-process";
import { startExecutor, type Executor } from "@/inngest-executor";

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
  }) => {
    test.setTimeout(120_000);
    const base = `http://127.0.0.1:${port}`;
    await page.goto(`${base}/jobs`);
    await page.getByRole("radio", { name: "Summarize" }).check({ force: true });
    await page.getByLabel("Pasted text").check();
    const paragraphs = Array.from(
      { length: 400 },
      (_, i) =>
        `Paragraph ${i + 1}. Checkpoints flush dirty pages so that crash recovery replays less write-ahead log. [[demo:tps=15]]`,
    );
    await page.getByLabel("Text", { exact: true }).fill(paragraphs.join("\n\n"));
    await page.getByRole("button", { name: "Summarize", exact: true }).click();
    await expect(page).toHaveURL(/\/jobs\/[A-Za-z0-9_-]{24}$/);
    await expect(page.getByTestId("partial-results").locator("li").first()).toBeVisible({
      timeout: 30_000,
    });

    const status = page.getByRole("main").getByTestId("job-status").first();
    await expect(status).toHaveAttribute("data-status", "running");
    killApp();
    await startApp();

    await page.reload();
    await expect(status).toHaveAttribute("data-status", "completed", { timeout: 60_000 });
    await page.getByText(/^Event log/).click();
    const log = page.getByTestId("event-log").locator("li");
    const seqs = await log.evaluateAll((items) =>
      items.map((item) => Number(item.getAttribute("data-seq"))),
    );
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    const lines = await log.allTextContents();
    const starts = lines
      .filter((line) => line.endsWith("step.started"))
      .map((line) => line.split(" · ")[1]);
    expect(new Set(starts).size).toBe(starts.length);
    expect(lines.filter((line) => line.endsWith("job.completed"))).toHaveLength(1);
  });
});
