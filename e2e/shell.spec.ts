import { expect, test } from "./fixtures";

test.describe("app shell", () => {
  test("navigates between Chat and Jobs with the current page marked", async ({ page }) => {
    await page.goto("/");
    await expect(page.getByRole("heading", { level: 1 })).toContainText("streams while you watch");
    const nav = page.getByRole("navigation", { name: "Main" });
    await nav.getByRole("link", { name: "Jobs" }).click();
    await expect(page).toHaveURL(/\/jobs$/);
    await expect(nav.getByRole("link", { name: "Jobs" })).toHaveAttribute("aria-current", "page");
    await expect(nav.getByRole("link", { name: "Chat" })).not.toHaveAttribute(
      "aria-current",
      "page",
    );
    await nav.getByRole("link", { name: "Chat" }).click();
    await expect(page).toHaveURL(/\/chat$/);
    await expect(nav.getByRole("link", { name: "Chat" })).toHaveAttribute("aria-current", "page");
  });

  test("offers a skip link to the main content as the first keyboard stop", async ({ page }) => {
    await page.goto("/");
    await page.keyboard.press("Tab");
    const skip = page.getByRole("link", { name: "Skip to content" });
    await expect(skip).toBeFocused();
    await page.keyboard.press("Enter");
    await expect(page).toHaveURL(/#main$/);
  });

  test("follows a dark system theme", async ({ browser }) => {
    const context = await browser.newContext({ colorScheme: "dark" });
    const page = await context.newPage();
    await page.goto("/");
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await context.close();
    const light = await browser.newContext({ colorScheme: "light" });
    const lightPage = await light.newPage();
    await lightPage.goto("/");
    const lightBackground = await lightPage.evaluate(
      () => getComputedStyle(document.body).backgroundColor,
    );
    await light.close();
    expect(background).not.toBe(lightBackground);
  });

  test("fetches no fonts or assets from other hosts", async ({ page }) => {
    const foreign: string[] = [];
    page.on("request", (request) => {
      const url = new URL(request.url());
      if (url.hostname !== "localhost") foreign.push(request.url());
    });
    await page.goto("/");
    await page.goto("/chat");
    expect(foreign).toEqual([]);
  });

  test("gives each browser its own httpOnly owner identity", async ({ browser }) => {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto("/");
      const cookie = (await context.cookies()).find((c) => c.name === "dispatch_owner");
      expect(cookie?.httpOnly).toBe(true);
      expect(cookie?.sameSite).toBe("Lax");
      const me = await page.request.get("/api/trpc/owner.me");
      ids.push((await me.json()).result.data.json.id);
      await context.close();
    }
    expect(ids[0]).not.toBe(ids[1]);
  });

  test("renders every top-level page without errors in the console", async ({ page }) => {
    const problems: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`${page.url()}: ${message.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`${page.url()}: ${error.message}`));
    for (const path of ["/", "/chat", "/jobs"]) {
      await page.goto(path);
      await page.waitForLoadState("networkidle");
    }
    expect(problems).toEqual([]);
  });

  test("answers 404 for a job, a conversation or an email this browser may not see", async ({
    browser,
    page,
  }) => {
    // A job of another browser: its owner sees it, this browser is told it does not exist.
    const other = await browser.newContext();
    const otherPage = await other.newPage();
    await otherPage.goto("/jobs");
    const created = await otherPage.request.post("/api/trpc/jobs.create", {
      data: { json: { kind: "summarize", source: { type: "text", text: "Some text to keep." } } },
    });
    expect(created.ok()).toBe(true);
    const jobId = ((await created.json()) as { result: { data: { json: { id: string } } } }).result
      .data.json.id;
    expect((await otherPage.goto(`/jobs/${jobId}`))?.status()).toBe(200);
    await other.close();

    for (const path of [
      `/jobs/${jobId}`,
      "/jobs/AAAAAAAAAAAAAAAAAAAAAAAA",
      "/chat/00000000-0000-4000-8000-000000000000",
      "/dev/mailbox/00000000-0000-4000-8000-000000000000",
    ]) {
      const response = await page.goto(path);
      expect(response?.status(), path).toBe(404);
      await expect(page.getByRole("heading", { level: 1 })).toHaveText("Not found");
    }
  });
});
