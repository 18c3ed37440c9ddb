/**
 * A batch job as a new user meets it: upload a CSV of texts in economy mode
 * (the demo model's Batch API), leave the page, come back to the finished
 * job through the jobs list, and find every item's summary, the provider's
 * final state, the cost beside the live equivalent, and the downloads.
 */
import { parse } from "csv-parse/sync";
import { expect, test } from "./fixtures";

const ROWS = 25;

function csvOf(rows: number): Buffer {
  const lines = ["title,text"];
  for (let n = 1; n <= rows; n++)
    lines.push(
      `Note ${n},"Autovacuum removes dead row versions from table ${n}, left behind by updates and deletes, and refreshes its planner statistics."`,
    );
  return Buffer.from(lines.join("\n"), "utf8");
}

test("economy batch from a CSV: leave, come back to per-item results and the cost comparison", async ({
  page,
  jobsPage,
  jobPage,
}) => {
  test.setTimeout(180_000);
  await jobsPage.goto();
  await jobsPage.startBatch(
    { name: "notes.csv", mimeType: "text/csv", buffer: csvOf(ROWS) },
    { mode: "economy" },
  );
  const title = `${ROWS} summaries from notes.csv`;
  await expect(jobPage.title).toHaveText(title);
  await expect(page.getByText(/economy mode: the provider's batch API/)).toBeVisible();

  // The user leaves; the job goes on at the provider without the page.
  await page.goto("about:blank");
  await jobsPage.goto();
  const row = jobsPage.row(title);
  await expect(row.getByTestId("job-status")).toHaveText("Completed", { timeout: 150_000 });
  await expect(row.getByTestId("job-row-cost")).toHaveText(/^\$\d+\.\d{2,6}$/);
  await row.getByRole("link", { name: title }).click();

  await jobPage.expectStatus("completed");
  await expect(jobPage.batchCounts).toHaveText(
    `${ROWS} done · 0 failed · 0 to go, of ${ROWS} items`,
  );
  await expect(jobPage.providerStatus).toHaveText(`Completed at the provider: ${ROWS} / ${ROWS}`);
  await expect(jobPage.batchItems).toHaveCount(ROWS);
  await expect(jobPage.batchItems.first()).toContainText("Note 1");
  await expect(jobPage.batchItems.first()).toContainText("Done (economy)");
  await expect(jobPage.batchItems.first()).toContainText(/autovacuum|dead row/i);
  await expect(jobPage.cost).toContainText(/Cost: \$\d+\.\d{2,6}/);
  await expect(jobPage.liveCost).toHaveText(/The same work live: \$\d+\.\d{2,6}/);
  // The demo model is free: the page says what the same tokens cost at a paid model's list price.
  await expect(page.getByTestId("reference-cost")).toHaveText(
    /At gpt-5-mini's list price these tokens would cost \$0\.\d+, or \$0\.\d+ live\./,
  );

  const href = await jobPage.downloadLink("CSV").getAttribute("href");
  const download = await page.request.get(href!);
  expect(download.status()).toBe(200);
  expect(download.headers()["content-type"]).toBe("text/csv; charset=utf-8");
  const [header, ...rows] = parse(await download.text()) as string[][];
  expect(header).toEqual([
    "position",
    "label",
    "status",
    "summary",
    "error",
    "mode",
    "input_tokens",
    "output_tokens",
  ]);
  expect(rows.map((row) => [row[0], row[1], row[2], row[5]])).toEqual(
    Array.from({ length: ROWS }, (_, i) => [String(i + 1), `Note ${i + 1}`, "done", "batch"]),
  );
  expect(rows.every((row) => row[3]!.length > 0)).toBe(true);
});
