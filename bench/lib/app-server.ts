/**
 * Benchmarks measure the production build: this starts `next start` (after a
 * build, if none exists) as a separate process, against its own database,
 * and, for those that run jobs, the embedded executor as another process.
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

export async function startApp(
  env: Record<string, string>,
  options: { database?: string; nextArgs?: string[] } = {},
) {
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
      ...(options.nextArgs ?? []),
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

/** An anonymous owner's cookie, as `proxy.ts` issues it to a browser's first page. */
export async function ownerCookie(appUrl: string): Promise<string> {
  const response = await fetch(`${appUrl}/chat`);
  await response.body?.cancel();
  const cookie = response.headers.get("set-cookie");
  if (!cookie) throw new Error("the app set no owner cookie");
  return cookie.split(";")[0]!;
}

/**
 * The embedded Inngest executor (`inngest-executor/main.ts`) as its own
 * process, as `npm run dev` runs it, syncing `appUrl`'s functions at start.
 * The port is the caller's so the app can be told it before either starts.
 */
export async function spawnExecutor(options: {
  port: number;
  databaseUrl: string;
  appUrl: string;
}) {
  const child = spawn(process.execPath, ["--import", "tsx", "inngest-executor/main.ts"], {
    env: {
      ...process.env,
      EXECUTOR_HOST: "127.0.0.1",
      EXECUTOR_PORT: String(options.port),
      EXECUTOR_DATABASE_URL: options.databaseUrl,
      EXECUTOR_APP_URL: `${options.appUrl}/api/inngest`,
      LOG_LEVEL: "error",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${options.port}`;
  await waitUntilReady(`${url}/health`, child, "the executor");
  return { url, pid: child.pid, stop: () => stopChild(child) };
}
