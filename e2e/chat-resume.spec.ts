/**
 * An answer is followed live from its log wherever the user looks at it: a
 * reload mid-answer and a second tab both see it grow token by token to the
 * same end, with the text from before the reload exactly once; and when the
 * app dies mid-answer (SIGKILL), the open tab shows it interrupted once the
 * app is back and the lease has run out, and Continue completes it. The kill
 * runs on an app of its own (the same production build, on a free port), so
 * the shared e2e server is never touched.
 */
import { expect, test, type Locator, type Page } from "@playwright/test";
import { AppProcess, freePort } from "./fixtures/app-process";

const answer = (page: Page) => page.getByTestId("message-assistant").last();
const answerText = (page: Page) => answer(page).locator(".prose-dispatch");

async function send(page: Page, text: string) {
  await page.getByLabel("Message").fill(text);
  await page.getByLabel("Message").press("Enter");
}

/** Waits until the text grows past `length` and returns it: it is streaming here. */
async function grownPast(locator: Locator, length: number): Promise<string> {
  let text = "";
  await expect
    .poll(async () => (text = (await locator.textContent()) ?? "").length, { timeout: 30_000 })
    .toBeGreaterThan(length);
  return text;
}

/** Samples the text several times while it streams: it only grows, in several steps. */
async function expectGrowing(locator: Locator) {
  const lengths: number[] = [];
  let last = ((await locator.textContent()) ?? "").length;
  for (let i = 0; i < 4; i++) {
    last = (await grownPast(locator, last)).length;
    lengths.push(last);
  }
  expect(lengths).toEqual([...lengths].sort((a, b) => a - b));
  expect(new Set(lengths).size).toBe(lengths.length);
}

const occurrences = (text: string, part: string) => text.split(part).length - 1;

test.describe("following an answer", () => {
  test("a reload mid-answer and a second tab follow it token by token to the same end", async ({
    context,
  }) => {
    test.setTimeout(120_000);
    const first = await context.newPage();
    await first.goto("/chat");
    await send(first, "Tell me about durable streams. [[demo:tps=5]]");
    await expect(first).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
    const before = await grownPast(answerText(first), 40);

    const second = await context.newPage();
    await second.goto(first.url());
    await first.reload();

    for (const page of [first, second]) {
      await expect(answer(page)).toHaveAttribute("data-status", "streaming");
    }
    await Promise.all([expectGrowing(answerText(first)), expectGrowing(answerText(second))]);
    for (const page of [first, second]) {
      await expect(answer(page)).toHaveAttribute("data-status", "complete", { timeout: 60_000 });
    }
    const final = (await answerText(first).textContent()) ?? "";
    await expect(answerText(second)).toHaveText(final);
    expect(final.startsWith(before)).toBe(true);
    expect(occurrences(final, before)).toBe(1);

    // A tab that opens the conversation now sees the stored answer.
    await second.reload();
    await expect(answerText(second)).toHaveText(final);
  });

  test("Stop in one tab stops the answer every tab follows", async ({ context }) => {
    const first = await context.newPage();
    await first.goto("/chat");
    await send(first, "Keep talking. [[demo:tps=8]]");
    await expect(first).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
    await grownPast(answerText(first), 10);
    const second = await context.newPage();
    await second.goto(first.url());
    await expect(answer(second)).toHaveAttribute("data-status", "streaming");
    await second.getByRole("button", { name: "Stop" }).click();
    for (const page of [first, second]) {
      await expect(page.getByTestId("marker-stopped")).toBeVisible({ timeout: 30_000 });
    }
    await expect(answerText(second)).toHaveText((await answerText(first).textContent()) ?? "");
  });

  test("a second tab sending while an answer is written gets a clear message and keeps its text", async ({
    context,
  }) => {
    const first = await context.newPage();
    await first.goto("/chat");
    await send(first, "A long answer, please. [[demo:tps=8]]");
    await expect(first).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
    await grownPast(answerText(first), 10);
    const second = await context.newPage();
    await second.goto(first.url());
    await second.getByRole("button", { name: "Stop" }).waitFor();
    // The composer is busy while the tab follows; a refused send keeps the text.
    await first.getByRole("button", { name: "Stop" }).click();
    await expect(second.getByTestId("marker-stopped")).toBeVisible({ timeout: 30_000 });
    await send(first, "From the first tab [[demo:tps=8]]");
    await expect(first.getByTestId("message-user")).toHaveCount(2);
    await expect(answer(first)).toHaveAttribute("data-status", "streaming");
    await grownPast(answerText(first), 5);
    await send(second, "From the second tab");
    await expect(second.getByTestId("chat-error")).toContainText(/another tab|still being written/);
    await expect(second.getByLabel("Message")).toHaveValue("From the second tab");
    await expect(first.getByTestId("message-user")).toHaveCount(2);
    await expect(second.getByTestId("message-user")).toHaveCount(2);
    await expect(second.getByTestId("message-user").last()).toContainText("From the first tab");
  });
});

test.describe("the app dies mid-answer", () => {
  let app: AppProcess;

  test.beforeAll(async () => {
    app = new AppProcess(await freePort());
    await app.start();
  });
  test.afterAll(() => app.kill());

  test("SIGKILL mid-answer: the open tab shows interrupted, and Continue completes it", async ({
    page,
  }) => {
    test.setTimeout(150_000);
    await page.goto(`${app.url}/chat`);
    await send(page, "Explain leases. [[demo:tps=4]]");
    await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
    const before = await grownPast(answerText(page), 20);
    app.kill();
    await app.start();
    // The tab reconnects by itself; the answer's lease runs out (lib/chat/liveness.ts).
    await expect(page.getByTestId("marker-interrupted")).toBeVisible({ timeout: 60_000 });
    const partial = (await answerText(page).textContent()) ?? "";
    expect(partial.startsWith(before)).toBe(true);
    expect(occurrences(partial, before)).toBe(1);

    await page.getByRole("button", { name: "Continue", exact: true }).click();
    await expect(answer(page)).toHaveAttribute("data-status", "complete", { timeout: 60_000 });
    const full = (await answerText(page).textContent()) ?? "";
    expect(full.startsWith(partial)).toBe(true);
    expect(full.length).toBeGreaterThan(partial.length);
    expect(occurrences(full, partial)).toBe(1);
  });
});
