/**
 * The outcome email as a new user meets it: start a job with "Email me when
 * it is done", close the browser, read the mail in the development mailbox,
 * and follow its signed link in a fresh (private) browser context, which has
 * no owner cookie: the token alone opens the finished job.
 *
 * Needs the e2e server's SMTP sink (SMTP_SINK_PORT=2625) and DEV_MAILBOX=on.
 */
import { expect, test } from "./fixtures";
import { JobPage } from "./pages/job-page";
import { JobsPage } from "./pages/jobs-page";
import { MailboxPage } from "./pages/mailbox-page";

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
  const jobs = new JobsPage(page);
  await jobs.goto();
  await jobs.startSummary(article, { notify: address });
  const jobPath = new URL(page.url()).pathname;
  const title = (await new JobPage(page).title.textContent())!.trim();
  // The user leaves before the job is done.
  await ownerContext.close();

  const mailContext = await browser.newContext();
  const mailbox = new MailboxPage(await mailContext.newPage());
  const mail = await mailbox.waitForMail(address);
  await expect(mail).toContainText(`Done: ${title}`);
  await mail.click();
  await expect(mailbox.subject).toHaveText(`Done: ${title}`);
  await expect(mailbox.body).toHaveAttribute("sandbox", /^(?!.*allow-scripts)/);
  const href = (await mailbox.jobLink(jobPath).getAttribute("href"))!;
  await mailContext.close();

  // A private window: no owner cookie, only the link.
  const privateContext = await browser.newContext();
  const reader = await privateContext.newPage();
  const job = new JobPage(reader);
  await reader.goto(href);
  await expect(job.title).toHaveText(title);
  await expect(job.status).toHaveText("Completed");
  await expect(job.emailNote).toContainText("was sent");

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
