/**
 * The embedded PostgreSQL: a real server from npm that keeps its data across
 * restarts, listens on loopback only, recovers from a stale pid file, and is
 * taken over (not duplicated) when the runner that started it was killed.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres, type RunningPostgres } from "./embedded-postgres";
import { relocatedDataDir, resolveLayout } from "./postgres-process";

// NOTE: as root the server runs as the `postgres` user, which must be able to
// enter the folder, so it is not a private temporary directory.
const root = mkdtempSync(path.join(process.cwd(), ".data", "embedded-test-"));
chmodSync(root, 0o755);
const running: RunningPostgres[] = [];
afterAll(async () => {
  await Promise.allSettled(running.map((server) => server.stop()));
  for (const name of ["restart", "stale", "orphan", "private/cluster"]) {
    rmSync(relocatedDataDir(path.join(root, name)), { recursive: true, force: true });
  }
  rmSync(root, { recursive: true, force: true });
  rmSync(`${root}.json`, { force: true });
});

async function start(dataDir: string) {
  const server = await startEmbeddedPostgres({ dataDir });
  running.push(server);
  return server;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

function isAlive(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

describe("embedded PostgreSQL", () => {
  it("creates a cluster on loopback only, keeps its data across restarts, and does LISTEN/NOTIFY", async () => {
    const dataDir = path.join(root, "restart");
    const first = await start(dataDir);
    expect(first.started).toBe(true);
    const settings = await query<{ listen: string; sockets: string }>(
      first.adminUrl,
      "SELECT current_setting('listen_addresses') AS listen, current_setting('unix_socket_directories') AS sockets",
    );
    expect(settings).toEqual([{ listen: "127.0.0.1", sockets: "" }]);
    await query(first.adminUrl, "CREATE TABLE kept (value text); INSERT INTO kept VALUES ('yes')");

    const listener = new pg.Client({ connectionString: first.adminUrl });
    await listener.connect();
    const received = new Promise<string | undefined>((resolve) =>
      listener.on("notification", (message) => resolve(message.payload)),
    );
    await listener.query("LISTEN probe");
    await query(first.adminUrl, "SELECT pg_notify('probe', '{\"id\":1,\"seq\":2}')");
    expect(await received).toBe('{"id":1,"seq":2}');
    await listener.end();

    await first.stop();
    const second = await start(dataDir);
    expect(await query(second.adminUrl, "SELECT value FROM kept")).toEqual([{ value: "yes" }]);
    await second.stop();
  }, 60_000);

  it("starts over a pid file left by a server that died", async () => {
    const dataDir = path.join(root, "stale");
    const server = await start(dataDir);
    await server.stop();
    // A pid that is certainly not a PostgreSQL server: a process that has exited.
    const exited = spawn(process.execPath, ["-e", ""]);
    await new Promise((resolve) => exited.once("exit", resolve));
    // Where the cluster really is (moved when run as root from a private folder).
    const { dataDir: clusterDir } = await resolveLayout(dataDir);
    writeFileSync(
      path.join(clusterDir, "postmaster.pid"),
      `${exited.pid}\n${clusterDir}\n1700000000\n${server.port}\n\n127.0.0.1\n  1234  5678\nready\n`,
    );
    const restarted = await start(dataDir);
    expect(restarted.started).toBe(true);
    expect(await query(restarted.adminUrl, "SELECT 1 AS one")).toEqual([{ one: 1 }]);
    await restarted.stop();
  }, 60_000);

  it("takes over the server of a runner that was killed, and shares a live runner's", async () => {
    const dataDir = path.join(root, "orphan");
    const tsx = createRequire(import.meta.url).resolve("tsx/cli");
    const runner = spawn(
      process.execPath,
      [
        tsx,
        "-e",
        `import("./scripts/lib/embedded-postgres.ts").then(async (m) => { await m.startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)} }); console.log("up"); setInterval(() => {}, 1000); })`,
      ],
      // Its own process group: tsx runs the script in a child process, and
      // "the runner was killed" means all of it.
      { stdio: ["ignore", "pipe", "inherit"], detached: true },
    );
    await new Promise<void>((resolve, reject) => {
      runner.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("up") && resolve());
      runner.once("exit", (code) => reject(new Error(`runner exited with ${code}`)));
    });

    const shared = await start(dataDir);
    expect(shared.started).toBe(false);
    await shared.stop();
    expect(await query(shared.adminUrl, "SELECT 1 AS one")).toEqual([{ one: 1 }]);

    process.kill(-runner.pid!, "SIGKILL");
    await new Promise((resolve) => runner.once("exit", resolve));
    const adopted = await start(dataDir);
    expect(adopted.started).toBe(true);
    expect(adopted.port).toBe(shared.port);
    const postmaster = Number(
      (
        await query<{ pid: string }>(
          adopted.adminUrl,
          "SELECT pid::text FROM pg_stat_activity WHERE backend_type = 'checkpointer'",
        )
      )[0]?.pid,
    );
    expect(isAlive(postmaster)).toBe(true);
    await adopted.stop();
    await expect.poll(() => isAlive(postmaster), { timeout: 20_000, interval: 100 }).toBe(false);
  }, 90_000);

  it("runs for a checkout in a folder the server's user cannot enter", async () => {
    // As root the server runs as `postgres`, which cannot enter a folder of
    // mode 700 (a home directory, a `mktemp -d` clone): it then runs from a
    // copy in the system's temporary directory. As anyone else, nothing moves.
    const privateDir = path.join(root, "private");
    mkdirSync(privateDir, { mode: 0o700 });
    chmodSync(privateDir, 0o700);
    const lines: string[] = [];
    const dataDir = path.join(privateDir, "cluster");
    const server = await startEmbeddedPostgres({
      dataDir,
      log: (line) => lines.push(line),
    });
    running.push(server);
    expect(await query(server.adminUrl, "SELECT 1 AS one")).toEqual([{ one: 1 }]);
    const moved = lines.some((line) => line.includes("cannot enter"));
    expect(moved).toBe(process.getuid?.() === 0);
    await server.stop();
  }, 90_000);
});
