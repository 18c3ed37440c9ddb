/**
 * What `npm run dev`, `npm start` and the e2e server share: load and validate
 * the configuration, make sure Postgres is reachable (with a message that
 * says how to fix it when it is not), create and migrate the database, start
 * the embedded sidecars, and run Next.js as a supervised child process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import nextEnv from "@next/env";
import pg from "pg";
import { ensureDatabase, migrate } from "@/lib/db/migrate";
import { parseEnv, type Env } from "@/lib/env-schema";
import { provideDatabase, redactedUrl } from "./database";

const require = createRequire(import.meta.url);

const colours = { next: 36, db: 35, executor: 33, model: 32, mail: 34, dispatch: 1 } as const;
export type LogSource = keyof typeof colours;

export function log(source: LogSource, message: string) {
  const tag = process.stdout.isTTY ? `\x1b[${colours[source]}m[${source}]\x1b[0m` : `[${source}]`;
  for (const line of message.split("\n")) if (line.trim()) process.stdout.write(`${tag} ${line}\n`);
}

/**
 * Loads `.env`, starts the embedded PostgreSQL when no `DATABASE_URL` is
 * configured, and validates the configuration. The returned `database` stops
 * that server (a no-op for a configured one).
 */
export async function loadConfiguration(dev: boolean): Promise<{ env: Env; database: Sidecar }> {
  nextEnv.loadEnvConfig(process.cwd(), dev, { info: () => {}, error: console.error });
  let provided;
  try {
    provided = await provideDatabase("app", (line) => log("db", line));
  } catch (error) {
    log("db", `Could not start the embedded PostgreSQL: ${(error as Error).message}`);
    log(
      "db",
      "Set DATABASE_URL (in .env, see .env.example) to use a PostgreSQL 15+ server instead.",
    );
    process.exit(1);
  }
  try {
    const env = parseEnv(process.env);
    if (!provided.embeddedPort) log("db", `using DATABASE_URL ${redactedUrl(env.DATABASE_URL)}`);
    return { env, database: { name: "db", stop: provided.stop } };
  } catch (error) {
    log("dispatch", (error as Error).message);
    await provided.stop();
    process.exit(1);
  }
}

function describeDatabase(url: string) {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
}

/** Fails fast, and helpfully, when Postgres is down; then creates and migrates the database. */
export async function prepareDatabase(env: Env): Promise<void> {
  const admin = new URL(env.DATABASE_URL);
  admin.pathname = "/postgres";
  const client = new pg.Client({
    connectionString: admin.toString(),
    connectionTimeoutMillis: 5000,
  });
  try {
    await client.connect();
  } catch (error) {
    const code = (error as { code?: string }).code ?? (error as Error).message;
    log(
      "db",
      [
        `Cannot reach PostgreSQL at ${describeDatabase(env.DATABASE_URL)} (${code}).`,
        "DATABASE_URL points at a server that does not answer. Start it, point DATABASE_URL",
        "(in .env, see .env.example) at a running PostgreSQL 15+, or unset it to use the",
        "embedded PostgreSQL that Dispatch starts by itself.",
      ].join("\n"),
    );
    process.exit(1);
  } finally {
    await client.end().catch(() => {});
  }
  if (await ensureDatabase(env.DATABASE_URL))
    log("db", `created database ${describeDatabase(env.DATABASE_URL)}`);
  const applied = await migrate(env.DATABASE_URL, { log: (line) => log("db", line) });
  log("db", applied.length ? `${applied.length} migration(s) applied` : "schema up to date");
}

export interface Sidecar {
  name: LogSource;
  stop(): Promise<void>;
}

/** Runs `next <command>` as a child, its output prefixed, stopping everything when it exits. */
export function runNext(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const nextBin = require.resolve("next/dist/bin/next");
  const child = spawn(process.execPath, [nextBin, ...args], {
    env,
    stdio: ["inherit", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => log("next", chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => log("next", chunk.toString()));
  return child;
}

/**
 * Stops sidecars and the child on Ctrl+C / SIGTERM, and when the child exits;
 * the database goes last, once nothing is connected to it any more.
 */
export function superviseUntilExit(child: ChildProcess, sidecars: Sidecar[], database: Sidecar) {
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    }
    await Promise.allSettled(sidecars.map((sidecar) => sidecar.stop()));
    await database.stop().catch((error: Error) => log("db", error.message));
    process.exit(code);
  };
  process.on("SIGINT", () => void stopAll(0));
  process.on("SIGTERM", () => void stopAll(0));
  child.on("exit", (code) => void stopAll(code ?? 0));
}
