import { expect, test, type Page } from "@playwright/test";

const answer = (page: Page) => page.getByTestId("message-assistant").last();

async function send(page: Page, text: string) {
  await page.getByLabel("Message").fill(text);
  await page.getByLabel("Message").press("Enter");
}

test.describe("chat", () => {
  test("streams an answer that grows until it completes, and a reload shows the history", async ({
    page,
  }) => {
    await page.goto("/chat");
    await expect(page.getByRole("heading", { name: "Start a conversation" })).toBeVisible();
    await send(page, "Hello, what can you do? [[demo:tps=20]]");
    await expect(page.getByTestId("message-user")).toContainText("Hello, what can you do?");
    await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);

    // Observe the rendered answer while it streams, until it ends: it only grows.
    // NOTE: sampled until the status changes, not a fixed number of times, so a
    // slow browser on a loaded machine still sees it grow (the answer takes ~8 s).
    // Only the answer's text is measured: "Thinking…" stands there before the
    // first token and is longer than a first token can be.
    const lengths: number[] = [];
    const answerText = answer(page).getByTestId("answer-text");
    await expect(answer(page)).toHaveAttribute("data-status", "streaming");
    while ((await answer(page).getAttribute("data-status")) === "streaming") {
      const shown = (await answerText.count()) ? await answerText.textContent() : "";
      lengths.push((shown ?? "").length);
      await page.waitForTimeout(250);
    }
    expect(new Set(lengths).size).toBeGreaterThan(2);
    for (let i = 1; i < lengths.length; i++)
      expect(lengths[i]).toBeGreaterThanOrEqual(lengths[i - 1]!);

    await expect(answer(page)).toHaveAttribute("data-status", "complete", { timeout: 30_000 });
    const finalText = await answer(page).textContent();
    expect(finalText).toContain("offline demo model");
    await expect(page.getByRole("button", { name: "Send" })).toBeVisible();

    await page.reload();
    await expect(page.getByTestId("message-user")).toContainText("Hello, what can you do?");
    await expect(answer(page)).toHaveText(finalText!);
    await expect(
      page
        .getByRole("navigation", { name: "Conversations" })
        .getByRole("link", { name: /Hello, what can you do/ }),
    ).toBeVisible();
  });

  test("a follow-up starts the model on the history the page shows", async ({ page }) => {
    await page.goto("/chat");
    await send(page, "First question");
    await expect(answer(page)).toHaveAttribute("data-status", "complete", { timeout: 30_000 });
    // The page's copy of the conversation matched the stored one, so the
    // model call that started before the server read it was used.
    const followUp = page.waitForResponse((r) => r.url().endsWith("/api/chat"));
    await send(page, "Second question");
    expect((await followUp).headers()["server-timing"]).toContain("speculation;desc=hit");
    await expect(answer(page)).toHaveAttribute("data-status", "complete", { timeout: 30_000 });
    await expect(page.getByTestId("message-user")).toHaveCount(2);
  });

  test("Stop aborts the answer on the server and keeps the partial, also after a reload", async ({
    page,
  }) => {
    await page.goto("/chat");
    await send(page, "Tell me about streaming. [[demo:tps=8]]");
    await expect(answer(page)).toContainText(/\w+ \w+ \w+/);
    await page.getByRole("button", { name: "Stop" }).click();
    await expect(page.getByTestId("marker-stopped")).toBeVisible();
    const partial = (await answer(page).locator(".prose-dispatch").textContent()) ?? "";
    expect(partial.length).toBeGreaterThan(5);
    // Nothing more arrives after the stop.
    await page.waitForTimeout(1000);
    expect(await answer(page).locator(".prose-dispatch").textContent()).toBe(partial);

    await page.reload();
    await expect(page.getByTestId("marker-stopped")).toBeVisible();
    await expect(answer(page).locator(".prose-dispatch")).toHaveText(partial);
  });

  test("closing the tab mid-answer is not a stop: the whole answer is there on return", async ({
    context,
  }) => {
    const page = await context.newPage();
    await page.goto("/chat");
    await send(page, "What happens if I leave? [[demo:tps=15]]");
    await expect(answer(page)).toContainText(/\w+ \w+ \w+/);
    const url = page.url();
    await page.close();

    // Generation went on without a reader; the answer is stored complete.
    const again = await context.newPage();
    await again.goto(url);
    await expect(answer(again)).toHaveAttribute("data-status", "complete", { timeout: 30_000 });
    await expect(answer(again)).toContainText("offline demo model");
    await expect(again.getByTestId("marker-stopped")).toHaveCount(0);
  });

  test("a stream dropped mid-answer is marked interrupted, and Continue completes it without duplicating text", async ({
    page,
  }) => {
    await page.goto("/chat");
    await send(page, "Explain backoff. [[demo:drop-after=15]]");
    await expect(page.getByTestId("marker-interrupted")).toBeVisible({ timeout: 30_000 });
    const partial = (await answer(page).locator(".prose-dispatch").textContent()) ?? "";
    expect(partial.length).toBeGreaterThan(10);
    await expect(page.getByRole("button", { name: "Retry", exact: true })).toBeVisible();

    await page.getByRole("button", { name: "Continue", exact: true }).click();
    await expect(answer(page)).toHaveAttribute("data-status", "complete", { timeout: 30_000 });
    await expect(page.getByTestId("marker-interrupted")).toHaveCount(0);
    const full = (await answer(page).locator(".prose-dispatch").textContent()) ?? "";
    expect(full.startsWith(partial)).toBe(true);
    expect(full.length).toBeGreaterThan(partial.length);
    // The partial text appears once, not twice.
    expect(full.split(partial.slice(0, 30)).length - 1).toBe(1);

    await page.reload();
    await expect(answer(page).locator(".prose-dispatch")).toHaveText(full);
    await expect(answer(page)).toHaveAttribute("data-status", "complete");
  });

  test("a 500 before the first token is retried without the user noticing", async ({ page }) => {
    await page.goto("/chat");
    await send(page, "Are you there? [[demo:fail-500-times=2]]");
    await expect(answer(page)).toHaveAttribute("data-status", "complete", { timeout: 30_000 });
    await expect(answer(page)).toContainText("offline demo model");
    await expect(page.getByTestId("chat-error")).toHaveCount(0);
    await expect(page.getByTestId("marker-failed")).toHaveCount(0);
  });

  test("a 429 beyond the retry budget shows a clear error and offers Retry", async ({ page }) => {
    await page.goto("/chat");
    await send(page, "Hello? [[demo:fail-429 retry-after=1]]");
    await expect(page.getByTestId("marker-failed")).toContainText("rate-limiting", {
      timeout: 30_000,
    });
    await expect(page.getByRole("button", { name: "Retry", exact: true })).toBeVisible();
    await expect(page.getByRole("button", { name: "Continue", exact: true })).toHaveCount(0);
  });

  test("the composer sends on Enter, adds a line on Shift+Enter, and refuses an over-long message", async ({
    page,
  }) => {
    await page.goto("/chat");
    const composer = page.getByLabel("Message");
    await composer.fill("first line");
    await composer.press("Shift+Enter");
    await composer.pressSequentially("second line");
    await expect(composer).toHaveValue("first line\nsecond line");
    await composer.fill("x".repeat(16_001));
    await expect(page.getByRole("alert").filter({ hasText: "shorten the message" })).toBeVisible();
    await expect(page.getByRole("button", { name: "Send" })).toBeDisabled();
  });

  test("renders model output as markdown without running script", async ({ page }) => {
    let dialogs = 0;
    page.on("dialog", (dialog) => {
      dialogs++;
      void dialog.dismiss();
    });
    await page.goto("/chat");
    await send(
      page,
      'Summarize: <img src=x onerror="alert(1)"> <script>alert(2)</script> Markdown is safe. [[demo:tps=0]]',
    );
    await expect(answer(page)).toHaveAttribute("data-status", "complete", { timeout: 30_000 });
    expect(await answer(page).locator("script, img[onerror]").count()).toBe(0);
    expect(dialogs).toBe(0);
  });

  test("conversations can be renamed and deleted", async ({ page }) => {
    await page.goto("/chat");
    await send(page, "Name me [[demo:tps=0]]");
    await expect(answer(page)).toHaveAttribute("data-status", "complete", { timeout: 30_000 });
    const list = page.getByRole("navigation", { name: "Conversations" });
    await list.getByRole("button", { name: /Rename “Name me/ }).click();
    await page.getByLabel("New title").fill("Renamed chat");
    await page.getByLabel("New title").press("Enter");
    await expect(list.getByRole("link", { name: "Renamed chat" })).toBeVisible();
    page.once("dialog", (dialog) => void dialog.accept());
    await list.getByRole("button", { name: "Delete “Renamed chat”" }).click();
    await expect(list.getByRole("link", { name: "Renamed chat" })).toHaveCount(0);
    await expect(page).toHaveURL(/\/chat$/);
  });
});
