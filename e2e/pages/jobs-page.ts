/** The jobs page (`/jobs`): the new-job form and the list of the owner's jobs. */
import { expect, type Page } from "@playwright/test";

export class JobsPage {
  constructor(private readonly page: Page) {}

  async goto(base = "") {
    await this.page.goto(`${base}/jobs`);
  }

  /** Fills the form for a summary of pasted text; `notify` ticks "Email me" with that address. */
  async fillSummary(text: string, options: { notify?: string } = {}) {
    // The kind switch styles its label; the radio itself is visually hidden.
    await this.page.getByRole("radio", { name: "Summarize" }).check({ force: true });
    await this.page.getByRole("radio", { name: "Pasted text" }).check();
    await this.page.getByRole("textbox", { name: "Text", exact: true }).fill(text);
    if (options.notify) {
      await this.page.getByRole("checkbox", { name: "Email me when it is done" }).check();
      await this.page.getByRole("textbox", { name: "Email address" }).fill(options.notify);
    }
  }

  /** Starts a summary of pasted text and waits for its permalink page. */
  async startSummary(text: string, options: { notify?: string } = {}) {
    await this.fillSummary(text, options);
    await this.page.getByRole("button", { name: "Summarize", exact: true }).click();
    await this.expectOnJobPage();
  }

  /** Uploads a file into the owner's library, as a summarize source. */
  async uploadFile(file: { name: string; mimeType: string; buffer: Buffer }) {
    await this.page.getByRole("radio", { name: "Summarize" }).check({ force: true });
    await this.page.getByRole("radio", { name: "A file" }).check();
    await this.page.getByLabel("File (PDF, Markdown, plain text, HTML)").setInputFiles(file);
  }

  async startResearch(question: string, options: { approvePlan?: boolean } = {}) {
    await this.page.getByRole("radio", { name: "Research a question" }).check({ force: true });
    await this.page.getByRole("textbox", { name: "Question" }).fill(question);
    if (options.approvePlan)
      await this.page
        .getByRole("checkbox", {
          name: "Let me approve or edit the research plan before it searches",
        })
        .check();
    await this.page.getByRole("button", { name: "Start research" }).click();
    await this.expectOnJobPage();
  }

  /** Starts a batch job from a CSV or JSONL file and waits for its permalink page. */
  async startBatch(
    file: { name: string; mimeType: string; buffer: Buffer },
    options: { mode: "economy" | "now" },
  ) {
    await this.page.getByRole("radio", { name: "Many at once (batch)" }).check({ force: true });
    await this.page.getByLabel("CSV or JSONL file, one text per row").setInputFiles(file);
    await expect(this.page.getByText(`Ready: ${file.name}`)).toBeVisible();
    await this.page
      .getByRole("radio", { name: options.mode === "economy" ? /^Economy/ : /^Now/ })
      .check();
    await this.page.getByRole("button", { name: "Start the batch" }).click();
    await this.expectOnJobPage();
  }

  async expectOnJobPage() {
    await expect(this.page).toHaveURL(/\/jobs\/[A-Za-z0-9_-]{24}$/);
  }

  /** A job's row in the list, by its title. */
  row(title: string) {
    return this.page.getByTestId("job-row").filter({ hasText: title }).first();
  }
}
