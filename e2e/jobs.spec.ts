import { expect, test, type Page } from "@playwright/test";

/** Pasted text of about `chars` characters; `marker` (a demo-model directive) goes in every paragraph. */
function article(chars: number, marker = "") {
  const paragraphs: string[] = [];
  for (let n = 1, size = 0; size < chars; n++) {
    const text =
      `Paragraph ${n}. The autovacuum daemon removes dead row versions left behind by updates and deletes, ` +
      `and refreshes planner statistics so that queries keep choosing good plans. Busy tables are vacuumed more often. ${marker}`;
    paragraphs.push(text);
    size += text.length + 2;
  }
  return paragraphs.join("\n\n");
}

const status = (page: Page) => page.getByRole("main").getByTestId("job-status").first();

async function startSummary(page: Page, text: string) {
  await page.goto("/jobs");
  await page.getByRole("radio", { name: "Summarize" }).check({ force: true });
  await page.getByLabel("Pasted text").check();
  await page.getByLabel("Text", { exact: true }).fill(text);
  await page.getByRole("button", { name: "Summarize", exact: true }).click();
  await expect(page).toHaveURL(/\/jobs\/[A-Za-z0-9_-]{24}$/);
}

/** The event log's sequence numbers, as the page shows them. */
async function eventSeqs(page: Page) {
  await page.getByText(/^Event log/).click();
  const seqs = await page
    .getByTestId("event-log")
    .locator("li")
    .evaluateAll((items) => items.map((item) => Number(item.getAttribute("data-seq"))));
  return seqs;
}

test.describe("jobs", () => {
  test("a summary finishes while its page is closed; the jobs list leads back to it", async ({
    context,
  }) => {
    const page = await context.newPage();
    await startSummary(page, article(9_000));
    const url = page.url();
    const title = (await page.getByRole("heading", { level: 1 }).textContent())!;
    await page.close();

    const later = await context.newPage();
    await later.goto("/jobs");
    const row = later.getByTestId("job-row").filter({ hasText: title }).first();
    await expect(async () => {
      await later.reload();
      await expect(row.getByTestId("job-status")).toHaveAttribute("data-status", "completed", {
        timeout: 1_000,
      });
    }).toPass({ timeout: 45_000 });
    await row.getByRole("link", { name: title }).click();
    await expect(later).toHaveURL(url);
    await expect(status(later)).toHaveAttribute("data-status", "completed");
    await expect(later.getByTestId("job-report")).toContainText(/vacuum/i);
    const timeline = later.getByTestId("job-timeline");
    await expect(timeline).toContainText("Reading the document");
    await expect(timeline).toContainText("Summarizing part 1 of");
    await expect(timeline).toContainText("Writing the summary");
  });

  test("research: upload a document, approve the plan, watch it run live, read a report that cites it", async ({
    page,
  }) => {
    await page.goto("/jobs");
    await page.getByRole("radio", { name: "Summarize" }).check({ force: true });
    await page.getByLabel("A file").check();
    await page.getByLabel("File (PDF, Markdown, plain text, HTML)").setInputFiles({
      name: "autovacuum-notes.md",
      mimeType: "text/markdown",
      buffer: Buffer.from(
        "# Autovacuum notes\n\nThe autovacuum launcher wakes every autovacuum_naptime and vacuums a table once its dead tuples exceed autovacuum_vacuum_threshold plus autovacuum_vacuum_scale_factor times the table's size.\n\nAnalyze runs on a similar threshold of changed rows.\n",
      ),
    });
    await expect(page.getByText("Ready: Autovacuum notes")).toBeVisible();

    await page.getByRole("radio", { name: "Research a question" }).check({ force: true });
    await page
      .getByRole("textbox", { name: "Question" })
      .fill("When does autovacuum vacuum a table?");
    await page.getByLabel("Let me approve or edit the research plan before it searches").check();
    await page.getByRole("button", { name: "Start research" }).click();
    await expect(page).toHaveURL(/\/jobs\/[A-Za-z0-9_-]{24}$/);

    const request = page.getByTestId("input-request");
    await expect(request).toBeVisible({ timeout: 20_000 });
    await expect(status(page)).toHaveAttribute("data-status", "waiting_for_input");
    await expect(request.getByLabel("Plan (one sub-question per line)")).not.toHaveValue("");
    await request.getByRole("button", { name: "Approve plan" }).click();

    // Without a reload, the page follows the job: running while it writes, then completed.
    const seen: string[] = [];
    await expect(async () => {
      const now = (await status(page).getAttribute("data-status")) ?? "";
      if (seen.at(-1) !== now) seen.push(now);
      expect(now).toBe("completed");
    }).toPass({ timeout: 45_000, intervals: [100] });
    expect(seen).toContain("running");
    await expect(page.getByRole("progressbar", { name: "Job progress" })).toHaveAttribute(
      "aria-valuenow",
      "100",
    );

    const timeline = page.getByTestId("job-timeline");
    await expect(timeline).toContainText("Planning the research");
    await expect(timeline).toContainText("Searching:");
    await expect(timeline).toContainText("Reading: Autovacuum notes");
    await expect(timeline).toContainText("Writing the report");
    const report = page.getByTestId("job-report");
    const citation = report.getByRole("link", { name: /^Source \d+$/ }).first();
    await expect(citation).toBeVisible();
    const target = (await citation.getAttribute("href"))!;
    expect(target).toMatch(/^#source-/);
    await expect(page.locator(target)).toContainText("Autovacuum notes");
  });

  test("cancelling mid-run keeps the parts already summarized and ends cancelled", async ({
    page,
  }) => {
    await startSummary(page, article(30_000, "[[demo:tps=12]]"));
    const partials = page.getByTestId("partial-results").locator("li");
    await expect(partials.first()).toBeVisible({ timeout: 30_000 });
    await page.getByRole("button", { name: "Cancel job" }).click();
    await expect(status(page)).toHaveAttribute("data-status", "cancelled", { timeout: 20_000 });
    await expect(partials.first()).toBeVisible();
    await page.reload();
    await expect(status(page)).toHaveAttribute("data-status", "cancelled");
    await expect(page.getByTestId("partial-results").locator("li").first()).toBeVisible();
    const seqs = await eventSeqs(page);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    await expect(page.getByTestId("event-log").locator("li").last()).toContainText("job.cancelled");
  });

  test("a reload and a dropped connection mid-run lose and repeat nothing", async ({
    page,
    context,
  }) => {
    await startSummary(page, article(20_000, "[[demo:tps=25]]"));
    await expect(page.getByTestId("partial-results").locator("li").first()).toBeVisible({
      timeout: 30_000,
    });
    await page.reload();
    await expect(status(page)).toHaveAttribute("data-status", /running|completed/);
    await context.setOffline(true);
    await page.waitForTimeout(1_500);
    await context.setOffline(false);
    await expect(status(page)).toHaveAttribute("data-status", "completed", { timeout: 45_000 });
    const live = await eventSeqs(page);
    expect(live).toEqual(live.map((_, i) => i + 1));
    // What the page assembled live is exactly what the server holds.
    await page.reload();
    expect(await eventSeqs(page)).toEqual(live);
    const types = await page.getByTestId("event-log").locator("li").allTextContents();
    expect(types.filter((text) => text.endsWith("job.completed"))).toHaveLength(1);
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
