/**
 * The e2e test fixtures: page objects for the jobs pages and the mailbox on
 * the test's page, and the pasted text the job specs summarize. Specs import
 * `test` and `expect` from here.
 */
import { test as base } from "@playwright/test";
import { JobPage } from "./pages/job-page";
import { JobsPage } from "./pages/jobs-page";
import { MailboxPage } from "./pages/mailbox-page";

export { expect } from "@playwright/test";

export const test = base.extend<{ jobsPage: JobsPage; jobPage: JobPage; mailbox: MailboxPage }>({
  // NOTE: Playwright's `use` is named `provide` here: the React hooks lint rule mistakes `use` for a hook.
  jobsPage: async ({ page }, provide) => provide(new JobsPage(page)),
  jobPage: async ({ page }, provide) => provide(new JobPage(page)),
  mailbox: async ({ page }, provide) => provide(new MailboxPage(page)),
});

/** Pasted text of about `chars` characters; `marker` (a demo-model directive) goes in every paragraph. */
export function article(chars: number, marker = "") {
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
