/**
 * A benchmark that measures the app's own modules runs them in a child Node
 * process, its "server role", on a database of its own: created and migrated
 * before, dropped after. The child writes its result as JSON to a file.
 *
 * NOTE: the app's modules import `server-only`, which only loads under the
 * `react-server` export condition, hence a child process started with it.
 */
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { dropDatabase, ensureDatabase, migrate } from "@/lib/db/migrate";
import { benchDatabaseUrl } from "./app-server";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface ServerRoleOptions {
  /** The benchmark's `import.meta.url`: the child runs it with `--role=server`. */
  script: string;
  /** The database's name, unique to this run (include the pid). */
  database: string;
  /** The environment variable that tells the child where to write its result. */
  resultVariable: string;
  /** Node flags besides the `react-server` condition, e.g. `--expose-gc`. */
  nodeFlags?: string[];
  env?: Record<string, string>;
  /** Names the child in the error when it fails. */
  label: string;
}

export async function runServerRole<T>(options: ServerRoleOptions): Promise<T> {
  const databaseUrl = benchDatabaseUrl(options.database);
  await ensureDatabase(databaseUrl);
  await migrate(databaseUrl);
  const resultFile = path.join(os.tmpdir(), `${options.database}.json`);
  try {
    const child = spawn(
      process.execPath,
      [
        "--conditions=react-server",
        ...(options.nodeFlags ?? []),
        "--import",
        "tsx",
        fileURLToPath(options.script),
        "--role=server",
      ],
      {
        cwd: root,
        stdio: ["ignore", "inherit", "inherit"],
        env: {
          ...process.env,
          DATABASE_URL: databaseUrl,
          NODE_ENV: "production",
          LOG_LEVEL: "error",
          SESSION_SECRET: "bench-session-secret-of-at-least-32-characters",
          APP_URL: "http://127.0.0.1:3999",
          ...options.env,
          [options.resultVariable]: resultFile,
        },
      },
    );
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    if (code !== 0) throw new Error(`${options.label} exited with ${code}`);
    return JSON.parse(readFileSync(resultFile, "utf8")) as T;
  } finally {
    rmSync(resultFile, { force: true });
    await dropDatabase(databaseUrl);
  }
}
