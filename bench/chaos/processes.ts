/**
 * The chaos run's child processes: each in its own process group (so a
 * SIGKILL takes a server and anything it forked down at once), its output
 * appended to a log file, and every group still alive killed with SIGKILL
 * when the run ends, however it ends (normal exit, an exception, Ctrl+C).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";

export interface ManagedProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Resolves when the process has exited (at once if it already has). */
  exited(): Promise<void>;
  /** Signals the whole process group. */
  kill(signal: NodeJS.Signals): void;
}

const live = new Set<ManagedProcess>();
const extraPids = new Map<string, () => number | undefined>();

let closed = false;

export function spawnManaged(
  name: string,
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; logFile: string; verbose: boolean },
): ManagedProcess {
  // A fault still running while the run shuts down must not start a server again.
  if (closed) throw new Error(`not starting ${name}: the run is shutting down`);
  const log = options.verbose ? undefined : openSync(options.logFile, "a");
  const child = spawn(command, args, {
    env: options.env,
    detached: true,
    stdio: log === undefined ? ["ignore", "inherit", "inherit"] : ["ignore", log, log],
  });
  if (log !== undefined) closeSync(log);
  if (!child.pid) throw new Error(`could not start ${name}`);
  const exit = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const managed: ManagedProcess = {
    name,
    pid: child.pid,
    child,
    exited: () => exit,
    kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // NOTE: the process itself too: a child killed right after spawn may not
      // have made its own group yet (setsid runs in the child).
      for (const target of [-child.pid!, child.pid!]) {
        try {
          process.kill(target, signal);
        } catch {
          // Already gone.
        }
      }
    },
  };
  live.add(managed);
  void exit.then(() => live.delete(managed));
  return managed;
}

/** A process this run did not spawn itself but owns (the PostgreSQL server), by a pid lookup. */
export function registerExternal(name: string, pid: () => number | undefined) {
  extraPids.set(name, pid);
}

/** From now on nothing is started; what runs is stopped by the caller or at exit. */
export function closeSpawning() {
  closed = true;
}

/** Synchronous, for `process.on("exit")`: SIGKILL to every group still alive. */
export function killEverything() {
  closed = true;
  for (const managed of live) managed.kill("SIGKILL");
  live.clear();
  for (const pid of extraPids.values()) {
    const found = pid();
    if (!found) continue;
    try {
      // NOTE: SIGQUIT is PostgreSQL's immediate shutdown: the postmaster takes
      // its backends down with it. A SIGKILL would orphan them, holding the port.
      process.kill(found, "SIGQUIT");
    } catch {
      // Already gone.
    }
  }
}

/**
 * Runs `cleanup` (bounded) on Ctrl+C, SIGTERM or a crash, then kills what is
 * left; on any exit kills what is left.
 */
export function installCleanup(cleanup: () => Promise<void>) {
  let cleaning = false;
  const bail = (code: number) => {
    if (cleaning) return;
    cleaning = true;
    const timer = setTimeout(() => process.exit(code), 15_000);
    timer.unref();
    void cleanup()
      .catch((error: unknown) => console.error(`cleanup failed: ${String(error)}`))
      .finally(() => process.exit(code));
  };
  process.on("exit", killEverything);
  process.on("SIGINT", () => bail(130));
  process.on("SIGTERM", () => bail(143));
  process.on("uncaughtException", (error) => {
    console.error(error);
    bail(1);
  });
  process.on("unhandledRejection", (error) => {
    console.error(error);
    bail(1);
  });
}
