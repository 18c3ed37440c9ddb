/**
 * The stack a chaos run owns and breaks: its own embedded PostgreSQL cluster
 * (`.data/postgres-chaos`, so it can be stopped and started), the production
 * build of the app (`next start`) and the embedded Inngest executor as
 * separate process groups (so each can be killed with SIGKILL and started
 * again on the same port), and, in this process, the offline demo model, the
 * SMTP sink and a fault proxy in front of the sink. Every process connects
 * to Postgres under its own `application_name`, so a fault can end exactly
 * the app's or the executor's connections.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import pg from "pg";
import { startDemoModel, type DemoModelServer } from "@/lib/ai/demo-model/server";
import { dropDatabase, ensureDatabase, migrate } from "@/lib/db/migrate";
import { startSmtpSink, type SmtpSink } from "@/lib/email/sink";
import { databaseUrlOn, startEmbeddedPostgres } from "@/scripts/lib/embedded-postgres";
import { ensureBuild } from "../lib/app-server";
import { freePort } from "../lib/process";
import { closeSpawning, registerExternal, spawnManaged, type ManagedProcess } from "./processes";
import { startBalancer, type Balancer } from "./balancer";
import { startSmtpFaultProxy, type SmtpFaultProxy } from "./smtp-fault-proxy";

const require = createRequire(import.meta.url);

export const DATA_DIR = path.join(".data", "postgres-chaos");
const LOG_DIR = path.join(".data", "chaos");
const DATABASE = "dispatch_chaos";
const EXECUTOR_SCHEMA = "inngest_executor";

export type ProcessRole = "app" | "executor";
export const APPLICATION_NAMES: Record<ProcessRole | "harness" | "sink", string> = {
  app: "chaos-app",
  executor: "chaos-executor",
  harness: "chaos-harness",
  sink: "chaos-sink",
};

function withApplicationName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set("application_name", name);
  return parsed.toString();
}

async function waitForHttp(url: string, what: string, process: ManagedProcess, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(5_000) })).ok) return;
    } catch {
      // Not listening yet.
    }
    if (process.child.exitCode !== null || process.child.signalCode !== null)
      throw new Error(`${what} exited while starting (see ${LOG_DIR}/)`);
    if (Date.now() > deadline) throw new Error(`${what} did not answer ${url} in time`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

export interface StackOptions {
  verbose: boolean;
  /**
   * Processes of the app and of the executor. Above 1, each role runs behind a
   * balancer (`balancer.ts`) and a kill takes down one replica, not the role.
   */
  replicas: number;
  /** The demo model's pace for every request that does not set its own. */
  model: { ttftMs: number; tokensPerSecond: number };
  log: (line: string) => void;
}

export class ChaosStack {
  readonly appUrl: string;
  readonly executorUrl: string;
  /** The harness's own connections (never terminated by a fault). */
  readonly pool: pg.Pool;
  private readonly apps: (ManagedProcess | undefined)[] = [];
  private readonly executors: (ManagedProcess | undefined)[] = [];
  /** The replica each role's next kill takes down, in turn. */
  private nextVictim = { app: 0, executor: 0 };
  /** Exits nobody asked for: a process that died by itself is a finding. */
  readonly unexpectedExits: string[] = [];
  private expectedExit = new Set<ManagedProcess>();

  private constructor(
    private readonly options: StackOptions,
    private readonly ports: {
      app: number;
      executor: number;
      appReplicas: number[];
      executorReplicas: number[];
    },
    private readonly balancers: Balancer[],
    private readonly urls: { database: string; admin: string },
    private postgres: { stop(): Promise<void> },
    readonly model: DemoModelServer,
    readonly sink: SmtpSink,
    readonly smtp: SmtpFaultProxy,
  ) {
    this.appUrl = `http://127.0.0.1:${ports.app}`;
    this.executorUrl = `http://127.0.0.1:${ports.executor}`;
    this.pool = new pg.Pool({
      connectionString: withApplicationName(urls.database, APPLICATION_NAMES.harness),
      max: 4,
    });
    // NOTE: a pool without an error listener crashes the process when an idle
    // client's server goes away, which is exactly what a PostgreSQL restart does.
    this.pool.on("error", () => undefined);
  }

  static async start(options: StackOptions): Promise<ChaosStack> {
    ensureBuild();
    mkdirSync(LOG_DIR, { recursive: true });
    // Each run's logs start empty; restarts within a run append to them.
    for (const role of ["app", "executor"])
      for (let replica = 0; replica < options.replicas; replica++)
        writeFileSync(path.join(LOG_DIR, `${replicaName(role, replica)}.log`), "");
    const postgres = await startEmbeddedPostgres({ dataDir: DATA_DIR, log: options.log });
    // NOTE: the cluster may live elsewhere than DATA_DIR (a copy under the
    // temporary directory when the postgres user cannot enter the checkout).
    const dataDirectory = await serverDataDirectory(postgres.adminUrl);
    registerExternal("postgres", () => postmasterPid(dataDirectory));
    const databaseUrl = databaseUrlOn(postgres.adminUrl, DATABASE);
    // Every run starts from an empty database: the invariants read all of it.
    await dropDatabase(databaseUrl);
    await ensureDatabase(databaseUrl);
    await migrate(databaseUrl);
    const model = await startDemoModel(options.model);
    const sink = await startSmtpSink({
      port: 0,
      databaseUrl: withApplicationName(databaseUrl, APPLICATION_NAMES.sink),
      // Every message of the run is counted: keep them all.
      keep: 1_000_000,
    });
    const smtp = await startSmtpFaultProxy({ host: "127.0.0.1", port: sink.port });
    const replicaPorts = async () => {
      const ports: number[] = [];
      for (let replica = 0; replica < options.replicas; replica++) ports.push(await freePort());
      return ports;
    };
    const appReplicas = await replicaPorts();
    const executorReplicas = await replicaPorts();
    const balancers =
      options.replicas > 1
        ? [await startBalancer(appReplicas), await startBalancer(executorReplicas)]
        : [];
    const ports = {
      app: balancers[0]?.port ?? appReplicas[0]!,
      executor: balancers[1]?.port ?? executorReplicas[0]!,
      appReplicas,
      executorReplicas,
    };
    const stack = new ChaosStack(
      options,
      ports,
      balancers,
      { database: databaseUrl, admin: postgres.adminUrl },
      postgres,
      model,
      sink,
      smtp,
    );
    for (let replica = 0; replica < options.replicas; replica++) await stack.startExecutor(replica);
    for (let replica = 0; replica < options.replicas; replica++) await stack.startApp(replica);
    return stack;
  }

  private logFile(name: string) {
    return path.join(LOG_DIR, `${name}.log`);
  }

  private watch(managed: ManagedProcess) {
    void managed.exited().then(() => {
      if (this.expectedExit.has(managed)) return;
      const { exitCode, signalCode } = managed.child;
      this.unexpectedExits.push(
        `${managed.name} (pid ${managed.pid}) exited by itself: ${signalCode ?? `code ${exitCode}`}`,
      );
      this.options.log(`!! ${managed.name} exited by itself (${signalCode ?? exitCode})`);
    });
  }

  get replicas(): number {
    return this.options.replicas;
  }

  async startApp(replica: number) {
    const port = this.ports.appReplicas[replica]!;
    const app = spawnManaged(
      replicaName("app", replica),
      process.execPath,
      [
        require.resolve("next/dist/bin/next"),
        "start",
        "--port",
        String(port),
        "--hostname",
        "127.0.0.1",
      ],
      {
        verbose: this.options.verbose,
        logFile: this.logFile(replicaName("app", replica)),
        env: {
          ...process.env,
          NODE_ENV: "production",
          NEXT_TELEMETRY_DISABLED: "1",
          DATABASE_URL: withApplicationName(this.urls.database, APPLICATION_NAMES.app),
          APP_URL: this.appUrl,
          SESSION_SECRET: "chaos-session-secret-not-for-production-use",
          INNGEST_DEV: this.executorUrl,
          AI_PROVIDER: "demo",
          DEMO_MODEL_URL: this.model.url,
          SMTP_URL: this.smtp.url,
          MAIL_FROM: "Dispatch chaos <chaos@localhost>",
          CHAT_RATE_LIMIT_PER_MINUTE: "1000000",
          LOG_LEVEL: "warn",
        },
      },
    );
    this.apps[replica] = app;
    this.watch(app);
    await waitForHttp(`http://127.0.0.1:${port}/api/health`, "the app", app, 90_000);
  }

  async startExecutor(replica: number) {
    const port = this.ports.executorReplicas[replica]!;
    const executor = spawnManaged(
      replicaName("executor", replica),
      process.execPath,
      ["--import", "tsx", "inngest-executor/main.ts"],
      {
        verbose: this.options.verbose,
        logFile: this.logFile(replicaName("executor", replica)),
        env: {
          ...process.env,
          EXECUTOR_HOST: "127.0.0.1",
          EXECUTOR_PORT: String(port),
          EXECUTOR_DATABASE_URL: withApplicationName(
            this.urls.database,
            APPLICATION_NAMES.executor,
          ),
          EXECUTOR_APP_URL: `${this.appUrl}/api/inngest`,
          EXECUTOR_SCHEMA,
          // NOTE: the default backoff, as `npm run dev` has it: the email function's
          // retries must outlast an orphaned send's claim (CLAIM_LEASE_SECONDS).
          EXECUTOR_RETRY_BASE_MS: "1000",
        },
      },
    );
    this.executors[replica] = executor;
    this.watch(executor);
    await waitForHttp(`http://127.0.0.1:${port}/health`, "the executor", executor, 60_000);
  }

  private async kill(managed: ManagedProcess | undefined) {
    if (!managed) return;
    this.expectedExit.add(managed);
    managed.kill("SIGKILL");
    await managed.exited();
  }

  /** SIGKILLs the app (with replicas, the next one in turn); returns which replica. */
  async killApp(): Promise<number> {
    const replica = this.nextVictim.app++ % this.replicas;
    await this.kill(this.apps[replica]);
    return replica;
  }

  /** SIGKILLs the executor (with replicas, the next one in turn); returns which replica. */
  async killExecutor(): Promise<number> {
    const replica = this.nextVictim.executor++ % this.replicas;
    await this.kill(this.executors[replica]);
    return replica;
  }

  /** `pg_terminate_backend` of every connection a process holds; returns how many. */
  async terminateConnections(role: ProcessRole): Promise<number> {
    const { rows } = await this.pool.query<{ terminated: boolean }>(
      `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
        WHERE application_name = $1 AND pid <> pg_backend_pid()`,
      [APPLICATION_NAMES[role]],
    );
    return rows.filter((row) => row.terminated).length;
  }

  /** Connections per application, to show the faults hit something. */
  async connectionCounts(): Promise<Record<string, number>> {
    const { rows } = await this.pool.query<{ application_name: string; n: number }>(
      `SELECT application_name, count(*)::int AS n FROM pg_stat_activity
        WHERE datname = $1 GROUP BY 1`,
      [DATABASE],
    );
    return Object.fromEntries(rows.map((row) => [row.application_name, row.n]));
  }

  /** Stops the cluster (fast shutdown: every session is ended), waits, starts it again. */
  async restartPostgres(downMs: number) {
    await this.postgres.stop();
    await new Promise((resolve) => setTimeout(resolve, downMs));
    const started = await startEmbeddedPostgres({ dataDir: DATA_DIR });
    const url = new URL(started.adminUrl);
    if (url.port !== new URL(this.urls.admin).port)
      throw new Error(`PostgreSQL came back on another port (${url.port}): the port was taken`);
    this.postgres = started;
  }

  async stop() {
    closeSpawning();
    for (const app of this.apps) await this.kill(app);
    for (const executor of this.executors) await this.kill(executor);
    for (const balancer of this.balancers) await balancer.close();
    await this.smtp.stop();
    await this.sink.stop();
    await this.model.stop();
    await this.pool.end().catch(() => undefined);
    await this.postgres.stop();
  }
}

/** "app", "app-2", …: a replica's process and log file. */
function replicaName(role: string, replica: number): string {
  return replica === 0 ? role : `${role}-${replica + 1}`;
}

async function serverDataDirectory(adminUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ data_directory: string }>("SHOW data_directory");
    return rows[0]!.data_directory;
  } finally {
    await client.end();
  }
}

function postmasterPid(dataDirectory: string): number | undefined {
  try {
    const pid = Number(
      readFileSync(path.join(dataDirectory, "postmaster.pid"), "utf8").split("\n")[0],
    );
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
