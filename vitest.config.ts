import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // Vite 8 resolves the `@/…` alias from tsconfig.json itself.
    tsconfigPaths: true,
    // `server-only` throws outside React Server Components; tests run the
    // server modules directly, so it resolves to an empty module here.
    alias: { "server-only": new URL("./test/empty-module.ts", import.meta.url).pathname },
  },
  test: {
    include: ["**/*.test.ts", "**/*.test.tsx"],
    exclude: ["node_modules/**", ".next/**", "e2e/**"],
    environment: "node",
    globalSetup: ["./test/global-setup.ts"],
    setupFiles: ["./test/setup-env.ts"],
    // Two cores: more workers only add contention.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // NOTE: expect.poll's own default (1 s) is a timing assumption: a NOTIFY
    // round trip or a worker's reply can take longer than that on two cores
    // shared with a load run. A poll returns as soon as it holds, so a generous
    // bound costs nothing when the machine is idle (test/wait.ts does the same).
    expect: { poll: { timeout: 20_000, interval: 20 } },
    reporters: process.env.CI ? ["default", "json"] : ["default"],
    outputFile: { json: "test-results/vitest.json" },
  },
});
