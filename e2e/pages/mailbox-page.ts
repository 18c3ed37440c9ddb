/** The development mailbox (`/dev/mailbox`, DEV_MAILBOX=on): what the SMTP sink received. */
import { expect, type Page } from "@playwright/test";

export class MailboxPage {
  constructor(private readonly page: Page) {}

  /** The received email sent to `address`, in the list. */
  mailTo(address: string) {
    return this.page
      .getByRole("list", { name: "Received emails" })
      .getByRole("link")
      .filter({ hasText: address });
  }

  /** Reloads the mailbox until exactly one email to `address` has arrived. */
  async waitForMail(address: string, timeout = 90_000) {
    await expect(async () => {
      await this.page.goto("/dev/mailbox");
      await expect(this.mailTo(address)).toHaveCount(1, { timeout: 1_000 });
    }).toPass({ timeout });
    return this.mailTo(address);
  }

  get subject() {
    return this.page.getByRole("heading", { level: 1 });
  }

  get body() {
    return this.page.getByTestId("mail-html");
  }

  /** The link in the open email that leads to `jobPath` with its token. */
  jobLink(jobPath: string) {
    return this.page.getByRole("link", { name: new RegExp(`${jobPath}\\?token=`) });
  }
}
