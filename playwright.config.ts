import { existsSync } from "node:fs";
import { defineConfig, devices } from "@playwright/test";

// Every port and the database can be moved, so two checkouts can run their
// browser tests side by side on one machine.
const port = Number(process.env.E2E_PORT ?? 3100);
const executorPort = process.env.E2E_EXECUTOR_PORT ?? "8388";
const demoModelPort = process.env.E2E_DEMO_MODEL_PORT ?? "8887";
const smtpSinkPort = process.env.E2E_SMTP_SINK_PORT ?? "2625";
// Specs that start their own processes read these from the environment.
if (!process.env.E2E_DATABASE_URL) {
  throw new Error(
    "E2E_DATABASE_URL is not set: run the browser tests with `npm run test:e2e` (which starts the embedded PostgreSQL) or set it.",
  );
}
process.env.DEMO_MODEL_PORT ??= demoModelPort;
process.env.E2E_EXECUTOR_PORT = executorPort;
const baseURL = `http://localhost:${port}`;
// Debian's Chromium: Playwright's own browser download is not possible everywhere.
const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export default defineConfig({
  testDir: "e2e",
  forbidOnly: !!process.env.CI,
  retries: process.env.CI ? 1 : 0,
  workers: 2,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [["list"], ["json", { outputFile: "test-results/playwright.json" }]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: existsSync(chromium) ? chromium : undefined,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
  projects: [{ name: "chromium", use: { ...devices["Desktop Chrome"] } }],
  webServer: {
    command: "npx tsx scripts/e2e-server.ts",
    url: `${baseURL}/api/health`,
    reuseExistingServer: !process.env.CI,
    timeout: 120_000,
    stdout: "pipe",
    env: {
      NODE_ENV: "production",
      PORT: String(port),
      APP_URL: baseURL,
      SESSION_SECRET: "e2e-session-secret-not-for-production-use",
      NEXT_TELEMETRY_DISABLED: "1",
      EXECUTOR_PORT: executorPort,
      DEMO_MODEL_PORT: demoModelPort,
      SMTP_SINK_PORT: smtpSinkPort,
      DATABASE_URL: process.env.E2E_DATABASE_URL,
      DEV_MAILBOX: "on",
    },
  },
});
