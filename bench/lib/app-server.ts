/**
 * Benchmarks measure the production build: this starts `next start` (after a
 * build, if none exists) as a separate process, against its own database.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dropDatabase, ensureDatabase, migrate } from "@/lib/db/migrate";
import { freePort, stopChild, waitUntilReady } from "./process";

const require = createRequire(import.meta.url);

export function ensureBuild() {
  if (existsSync(".next/BUILD_ID")) return;
  console.log("building the app (next build)…");
  const result = spawnSync(process.execPath, [require.resolve("next/dist/bin/next"), "build"], {
    stdio: "inherit",
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
  });
  if (result.status !== 0) throw new Error("next build failed");
}

/** A database on the benchmark's server (`npm run bench` provides the embedded one). */
export function benchDatabaseUrl(database: string): string {
  const base = process.env.BENCH_DATABASE_BASE_URL;
  if (!base)
    throw new Error("BENCH_DATABASE_BASE_URL is not set: run the benchmarks with npm run bench");
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function startApp(env: Record<string, string>, options: { database?: string } = {}) {
  ensureBuild();
  const port = await freePort();
  const databaseUrl = benchDatabaseUrl(options.database ?? `dispatch_bench_${process.pid}`);
  await ensureDatabase(databaseUrl);
  await migrate(databaseUrl);
  const child = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_APP_NODE_OPTIONS ?? "").split(" ").filter(Boolean),
      require.resolve("next/dist/bin/next"),
      "start",
      "--port",
      String(port),
      "--hostname",
      "127.0.0.1",
    ],
    {
      env: {
        ...process.env,
        NODE_ENV: "production",
        NEXT_TELEMETRY_DISABLED: "1",
        DATABASE_URL: databaseUrl,
        APP_URL: `http://127.0.0.1:${port}`,
        SESSION_SECRET: "bench-session-secret-not-for-production-use",
        LOG_LEVEL: "error",
        ...env,
      },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady(`${url}/api/health`, child, "the app");
  return {
    url,
    pid: child.pid,
    databaseUrl,
    stop: async () => {
      await stopChild(child);
      await dropDatabase(databaseUrl);
    },
  };
}
