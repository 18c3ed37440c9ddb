/** A job's permalink page (`/jobs/<id>`): its status, live progress, results and event log. */
import { expect, type Page } from "@playwright/test";

export class JobPage {
  constructor(private readonly page: Page) {}

  get title() {
    return this.page.getByRole("heading", { level: 1 });
  }

  /** The status badge of the job itself (job cards elsewhere have their own). */
  get status() {
    return this.page.getByRole("main").getByTestId("job-status").first();
  }

  get progress() {
    return this.page.getByRole("progressbar", { name: "Job progress" });
  }

  get liveConnection() {
    return this.page.getByTestId("live-connection");
  }

  get timeline() {
    return this.page.getByTestId("job-timeline");
  }

  get report() {
    return this.page.getByTestId("job-report");
  }

  get partialResults() {
    return this.page.getByTestId("partial-results").getByRole("listitem");
  }

  get inputRequest() {
    return this.page.getByTestId("input-request");
  }

  get emailNote() {
    return this.page.getByTestId("email-note");
  }

  /** A batch job's "N done · N failed · N to go" line. */
  get batchCounts() {
    return this.page.getByTestId("batch-counts");
  }

  get batchItems() {
    return this.page.getByTestId("batch-item");
  }

  get providerStatus() {
    return this.page.getByTestId("provider-status");
  }

  get cost() {
    return this.page.getByTestId("job-cost");
  }

  get liveCost() {
    return this.page.getByTestId("live-cost");
  }

  downloadLink(format: "CSV" | "JSONL") {
    return this.page.getByRole("link", { name: `Download results (${format})` });
  }

  async expectStatus(status: string, options: { timeout?: number } = {}) {
    await expect(this.status).toHaveAttribute("data-status", status, options);
  }

  async cancel() {
    await this.page.getByRole("button", { name: "Cancel job" }).click();
  }

  private async eventItems() {
    const log = this.page.getByTestId("event-log");
    if (!(await log.isVisible())) await this.page.getByText(/^Event log/).click();
    return log.getByRole("listitem");
  }

  /** The event log's sequence numbers, as the page shows them. */
  async eventSeqs(): Promise<number[]> {
    return (await this.eventItems()).evaluateAll((items) =>
      items.map((item) => Number(item.getAttribute("data-seq"))),
    );
  }

  /** The event log's lines: `#seq time · step · type`. */
  async eventLines(): Promise<string[]> {
    return (await this.eventItems()).allTextContents();
  }
}
