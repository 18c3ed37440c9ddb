import { article, expect, test } from "./fixtures";
import { JobPage } from "./pages/job-page";
import { JobsPage } from "./pages/jobs-page";

test.describe("jobs", () => {
  test("a summary finishes while its page is closed; the jobs list leads back to it", async ({
    context,
  }) => {
    const page = await context.newPage();
    await new JobsPage(page).goto();
    await new JobsPage(page).startSummary(article(9_000));
    const url = page.url();
    const title = (await new JobPage(page).title.textContent())!;
    await page.close();

    const later = await context.newPage();
    const jobs = new JobsPage(later);
    await jobs.goto();
    const row = jobs.row(title);
    await expect(async () => {
      await later.reload();
      await expect(row.getByTestId("job-status")).toHaveAttribute("data-status", "completed", {
        timeout: 1_000,
      });
    }).toPass({ timeout: 45_000 });
    await row.getByRole("link", { name: title }).click();
    await expect(later).toHaveURL(url);
    const job = new JobPage(later);
    await job.expectStatus("completed");
    await expect(job.report).toContainText(/vacuum/i);
    const timeline = job.timeline;
    await expect(timeline).toContainText("Reading the document");
    await expect(timeline).toContainText("Summarizing part 1 of");
    await expect(timeline).toContainText("Writing the summary");
  });

  test("research: upload a document, approve the plan, watch it run live, read a report that cites it", async ({
    page,
    jobsPage,
    jobPage,
  }) => {
    await jobsPage.goto();
    await jobsPage.uploadFile({
      name: "autovacuum-notes.md",
      mimeType: "text/markdown",
      buffer: Buffer.from(
        "# Autovacuum notes\n\nThe autovacuum launcher wakes every autovacuum_naptime and vacuums a table once its dead tuples exceed autovacuum_vacuum_threshold plus autovacuum_vacuum_scale_factor times the table's size.\n\nAnalyze runs on a similar threshold of changed rows.\n",
      ),
    });
    await expect(page.getByText("Ready: Autovacuum notes")).toBeVisible();
    await jobsPage.startResearch("When does autovacuum vacuum a table?", { approvePlan: true });

    const request = jobPage.inputRequest;
    await expect(request).toBeVisible({ timeout: 20_000 });
    await jobPage.expectStatus("waiting_for_input");
    await expect(request.getByLabel("Plan (one sub-question per line)")).not.toHaveValue("");
    await request.getByRole("button", { name: "Approve plan" }).click();

    // Without a reload, the page follows the job: running while it writes, then completed.
    const seen: string[] = [];
    await expect(async () => {
      const now = (await jobPage.status.getAttribute("data-status")) ?? "";
      if (seen.at(-1) !== now) seen.push(now);
      expect(now).toBe("completed");
    }).toPass({ timeout: 45_000, intervals: [100] });
    expect(seen).toContain("running");
    await expect(jobPage.progress).toHaveAttribute("aria-valuenow", "100");

    const timeline = jobPage.timeline;
    await expect(timeline).toContainText("Planning the research");
    await expect(timeline).toContainText("Searching:");
    await expect(timeline).toContainText("Reading: Autovacuum notes");
    await expect(timeline).toContainText("Writing the report");
    const citation = jobPage.report.getByRole("link", { name: /^Source \d+$/ }).first();
    await expect(citation).toBeVisible();
    const target = (await citation.getAttribute("href"))!;
    expect(target).toMatch(/^#source-/);
    // The link's own fragment names the source's element.
    await expect(page.locator(target)).toContainText("Autovacuum notes");
  });

  test("cancelling mid-run keeps the parts already summarized and ends cancelled", async ({
    page,
    jobsPage,
    jobPage,
  }) => {
    await jobsPage.goto();
    await jobsPage.startSummary(article(30_000, "[[demo:tps=12]]"));
    await expect(jobPage.partialResults.first()).toBeVisible({ timeout: 30_000 });
    await jobPage.cancel();
    await jobPage.expectStatus("cancelled", { timeout: 20_000 });
    await expect(jobPage.partialResults.first()).toBeVisible();
    await page.reload();
    await jobPage.expectStatus("cancelled");
    await expect(jobPage.partialResults.first()).toBeVisible();
    const seqs = await jobPage.eventSeqs();
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect((await jobPage.eventLines()).at(-1)).toContain("job.cancelled");
  });

  test("a reload and a dropped connection mid-run lose and repeat nothing", async ({
    page,
    context,
    jobsPage,
    jobPage,
  }) => {
    await jobsPage.goto();
    await jobsPage.startSummary(article(20_000, "[[demo:tps=25]]"));
    await expect(jobPage.partialResults.first()).toBeVisible({ timeout: 30_000 });
    await page.reload();
    await expect(jobPage.status).toHaveAttribute("data-status", /running|completed/);
    const before = Number(await jobPage.progress.getAttribute("aria-valuenow"));
    await context.setOffline(true);
    // NOTE: Chromium's offline emulation fails new requests but keeps an open
    // event stream, so the network stays off until the job has moved on.
    await expect
      .poll(async () => Number(await jobPage.progress.getAttribute("aria-valuenow")), {
        timeout: 30_000,
      })
      .toBeGreaterThan(before);
    await context.setOffline(false);
    await jobPage.expectStatus("completed", { timeout: 45_000 });
    const live = await jobPage.eventSeqs();
    expect(live).toEqual(live.map((_, i) => i + 1));
    // What the page assembled live is exactly what the server holds.
    await page.reload();
    expect(await jobPage.eventSeqs()).toEqual(live);
    const lines = await jobPage.eventLines();
    expect(lines.filter((text) => text.endsWith("job.completed"))).toHaveLength(1);
  });

  test("the chat starts jobs with /summarize and the Research button, and shows them live", async ({
    page,
  }) => {
    await page.goto("/chat");
    const composer = page.getByLabel("Message");
    await composer.fill(`/summarize ${article(1_500)}`);
    await composer.press("Enter");
    const cards = page.getByTestId("job-card");
    await expect(cards).toHaveCount(1);
    await expect(composer).toHaveValue("");
    await expect(cards.first().getByTestId("job-status")).toHaveAttribute(
      "data-status",
      "completed",
      { timeout: 30_000 },
    );
    await expect(cards.first()).toContainText(/vacuum/i);

    await composer.fill("How does autovacuum pick tables?");
    await page.getByRole("button", { name: "Research this" }).click();
    await expect(cards).toHaveCount(2);
    const research = cards.nth(1);
    await expect(
      research.getByRole("link", { name: "How does autovacuum pick tables?" }),
    ).toHaveAttribute("href", /^\/jobs\/[A-Za-z0-9_-]{24}$/);
    await expect(research.getByTestId("job-status")).toHaveAttribute("data-status", "completed", {
      timeout: 30_000,
    });

    // The conversation keeps its jobs on the server: they are there after a reload.
    await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
    await page.reload();
    await expect(cards).toHaveCount(2);
    await expect(
      cards.nth(1).getByRole("link", { name: "How does autovacuum pick tables?" }),
    ).toBeVisible();
  });
});
