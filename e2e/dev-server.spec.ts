/**
 * The development server as a newcomer opens it: `next dev`, reached at both
 * http://localhost and http://127.0.0.1. Next.js 16 refuses development
 * assets to an origin it was not told about, and a page that never hydrates
 * looks fine until you type into it; so this types, sends and reads the
 * answer at both addresses. It runs its own `next dev` (in `.next/dev`, apart
 * from the production build the other specs use) beside the e2e sidecars.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { freePort } from "../scripts/lib/ports";

const nextBin = path.join(process.cwd(), "node_modules", "next", "dist", "bin", "next");

test.describe("the development server", () => {
  // Compiling pages on first request takes a while on two cores.
  test.describe.configure({ timeout: 240_000 });
  let dev: ChildProcess | undefined;
  let port: number;

  test.beforeAll(async () => {
    test.setTimeout(240_000);
    port = await freePort();
    dev = spawn(
      process.execPath,
      [nextBin, "dev", "--port", String(port), "--hostname", "127.0.0.1"],
      {
        detached: true,
        stdio: "ignore",
        env: {
          ...process.env,
          NODE_ENV: "development",
          DATABASE_URL: process.env.E2E_DATABASE_URL,
          APP_URL: `http://localhost:${port}`,
          SESSION_SECRET: "e2e-session-secret-not-for-production-use",
          INNGEST_DEV: `http://127.0.0.1:${process.env.E2E_EXECUTOR_PORT ?? 8388}`,
          AI_PROVIDER: "demo",
          DEMO_MODEL_URL: `http://127.0.0.1:${process.env.DEMO_MODEL_PORT}/v1`,
          NEXT_TELEMETRY_DISABLED: "1",
          LOG_LEVEL: "warn",
        },
      },
    );
    await expect
      .poll(
        async () => {
          try {
            return (await fetch(`http://127.0.0.1:${port}/api/health`)).status;
          } catch {
            return 0;
          }
        },
        { timeout: 200_000, intervals: [500] },
      )
      .toBe(200);
  });

  test.afterAll(() => {
    if (dev?.pid && dev.exitCode === null) process.kill(-dev.pid, "SIGTERM");
  });

  for (const host of ["localhost", "127.0.0.1"]) {
    test(`is interactive at http://${host}`, async ({ page }) => {
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      await page.goto(`http://${host}:${port}/chat`);
      const send = page.getByRole("button", { name: "Send" });
      await expect(send).toBeDisabled();
      // Only a hydrated page enables Send as you type.
      await page.getByLabel("Message").fill("Hello from the dev server");
      await expect(send).toBeEnabled({ timeout: 120_000 });
      await send.click();
      await expect(page.getByText("Dispatch's offline demo model").first()).toBeVisible({
        timeout: 120_000,
      });
      expect(errors).toEqual([]);
    });
  }
});
