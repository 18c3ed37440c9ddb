/**
 * The outcome email as a new user meets it: start a job with "Email me when
 * it is done", close the browser, read the mail in the development mailbox,
 * and follow its signed link in a fresh (private) browser context, which has
 * no owner cookie: the token alone opens the finished job.
 *
 * Needs the e2e server's SMTP sink (SMTP_SINK_PORT=2625) and DEV_MAILBOX=on.
 */
import { expect, test } from "@playwright/test";

const article = Array.from(
  { length: 6 },
  (_, n) =>
    `Paragraph ${n + 1}. Autovacuum removes dead row versions left behind by updates and deletes, ` +
    `and refreshes planner statistics so that queries keep choosing good plans.`,
).join("\n\n");

test("the email's link opens the finished job in a fresh browser context", async ({ browser }) => {
  const address = `e2e-${Date.now()}@example.test`;

  const ownerContext = await browser.newContext();
  const page = await ownerContext.newPage();
  await page.goto("/jobs");
  // The kind switch styles its label; the radio itself is visually hidden.
  await page.getByRole("radio", { name: "Summarize" }).check({ force: true });
  await page.getByRole("radio", { name: "Pasted text" }).check();
  await page.getByLabel("Text", { exact: true }).fill(article);
  await page.getByRole("checkbox", { name: "Email me when it is done" }).check();
  await page.getByLabel("Email address").fill(address);
  await page.getByRole("button", { name: "Summarize" }).click();
  await expect(page).toHaveURL(/\/jobs\/[A-Za-z0-9_-]{24}$/);
  const jobPath = new URL(page.url()).pathname;
  const title = (await page.getByRole("heading", { level: 1 }).textContent())!.trim();
  // The user leaves before the job is done.
  await ownerContext.close();

  const mailContext = await browser.newContext();
  const mailbox = await mailContext.newPage();
  const mail = mailbox
    .getByRole("list", { name: "Received emails" })
    .getByRole("link")
    .filter({ hasText: address });
  await expect(async () => {
    await mailbox.goto("/dev/mailbox");
    await expect(mail).toHaveCount(1, { timeout: 1_000 });
  }).toPass({ timeout: 90_000 });
  await expect(mail).toContainText(`Done: ${title}`);
  await mail.click();
  await expect(mailbox.getByRole("heading", { level: 1 })).toHaveText(`Done: ${title}`);
  await expect(mailbox.getByTestId("mail-html")).toHaveAttribute("sandbox", /^(?!.*allow-scripts)/);
  const link = mailbox.getByRole("link", { name: new RegExp(`${jobPath}\\?token=`) });
  const href = (await link.getAttribute("href"))!;
  await mailContext.close();

  // A private window: no owner cookie, only the link.
  const privateContext = await browser.newContext();
  const reader = await privateContext.newPage();
  await reader.goto(href);
  await expect(reader.getByRole("heading", { level: 1 })).toHaveText(title);
  await expect(reader.getByTestId("job-status")).toHaveText("Completed");
  await expect(reader.getByTestId("email-note")).toContainText("was sent");

  // The same browser without the token, or with a tampered one, sees nothing.
  await reader.goto(jobPath);
  await expect(reader.getByRole("heading", { name: "Not found" })).toBeVisible();
  const tampered = new URL(href);
  const token = tampered.searchParams.get("token")!;
  tampered.searchParams.set(
    "token",
    `${token.slice(0, 20)}${token[20] === "A" ? "B" : "A"}${token.slice(21)}`,
  );
  await reader.goto(tampered.toString());
  await expect(reader.getByRole("heading", { name: "Not found" })).toBeVisible();
  await privateContext.close();
});
