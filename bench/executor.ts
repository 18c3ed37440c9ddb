/**
 * Benchmark of the embedded Inngest executor: event → first step start
 * latency and per-step overhead of a 10-step no-op function at 1 and 50
 * concurrent runs, and throughput for 1,000 queued runs. It creates and drops
 * its own database; the app runs in a child process, as in development.
 *
 * Side by side, in the same run, it measures the SDK alone: a second copy of
 * the app is called directly with the same payloads by a stub server that
 * stores nothing (no executor, no database). That is the floor any executor
 * can reach with this SDK in one app process; the ratios say how far above it
 * the executor is. CPU time per step is reported for the app, the executor and
 * its Postgres backends, so a saturated machine is visible as such.
 *
 *   npx tsx bench/executor.ts     (writes bench/results/executor.json and executor.svg)
 *
 * BENCH_APP_INHERIT_ENV=1 gives the app processes the benchmark runner's whole
 * environment (npm's npm_* variables included) instead of a deployment's.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { startExecutor } from "@/inngest-executor/index";
import { barChart } from "./lib/chart";
import { freePort, processCpuMs, stopChild } from "./lib/process";
import { percentiles, type Percentiles } from "./lib/stats";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Mode = "checkpointing" | "call-per-step";

/** CPU time per executed step, by process (ms); null where it could not be read. */
export interface CpuPerStep {
  app: number | null;
  /** The benchmark process, which hosts the executor (and the benchmark's own driver). */
  executor: number | null;
  /** The Postgres backends connected to the benchmark's database. */
  postgres: number | null;
}

export interface ScenarioResult {
  mode: Mode;
  concurrency: number;
  eventToFirstStepMs: Percentiles;
  /** Event accepted → the executor's first call to the app sent: the executor's own share of the start latency. */
  eventToFirstCallMs: Percentiles;
  perStepOverheadMs: Percentiles;
  cpuMsPerStep: CpuPerStep;
  /** The SDK alone: the same app called directly, with the same payloads, by a server that stores nothing. */
  sdkOnly: {
    callToFirstStepMs: Percentiles;
    perStepOverheadMs: Percentiles;
    appCpuMsPerStep: number | null;
  };
  /** Executor ÷ SDK alone (1 = no cost above the SDK's own). */
  ratio: { firstStepP50: number; firstStepP95: number; perStepP50: number; perStepP95: number };
  meetsTarget: boolean;
}

export interface ExecutorBenchResults {
  at: string;
  /** Load average at the end: the machine is shared, and other work inflates latencies. */
  machine: { cpus: number; node: string; loadAverage: number[] };
  /** The app processes' environment: a deployment's few variables, or the benchmark runner's whole one. */
  appEnvironment: { inherited: boolean; variables: number };
  scenarios: ScenarioResult[];
  throughput: {
    mode: Mode;
    runs: number;
    seconds: number;
    runsPerSecond: number;
    /** CPU time of the executor's process per executed step (excludes Postgres and the app). */
    executorCpuMsPerStep: number;
    /** The same runs driven through the SDK alone, as many at once as the executor's worker capacity. */
    sdkAloneRunsPerSecond: number;
    /** Executor ÷ SDK alone (target ≥ 0.9). */
    ratio: number;
  }[];
  /** 1,000 events into a one-step function under a throttle, and under a debounce. */
  flowControl: {
    rule: "throttle" | "debounce";
    setting: string;
    events: number;
    runs: number;
    seconds: number;
    runsPerSecond: number;
    /** CPU per event: the executor's process, its Postgres backends, the app. */
    cpuMsPerEvent: CpuPerStep;
  }[];
  targets: { eventToFirstStepP95Ms: number; perStepOverheadMs: number };
}

export interface ExecutorBenchOptions {
  /** Sequential runs measured at concurrency 1 (default 60). */
  sequentialRuns?: number;
  /** Batches of 50 simultaneous runs (default 6). */
  rounds50?: number;
  /** Runs queued at once for the throughput figure (default 1000). */
  queuedRuns?: number;
}

const TARGETS = { eventToFirstStepP95Ms: 50, perStepOverheadMs: 10 };
/** The executor's default `workerConcurrency`: the SDK-alone throughput runs this many at once. */
const EXECUTOR_WORKER_CAPACITY = 100;
const FLOW_EVENTS = 1000;
const FLOW_CASES = [
  { rule: "throttle", fnId: "throttled", setting: "limit 200 per 1s", keys: 1 },
  { rule: "debounce", fnId: "debounced", setting: "period 3s, 100 keys", keys: 100 },
] as const;
const MODES: { mode: Mode; fnId: string }[] = [
  { mode: "checkpointing", fnId: "ten-checkpointed" },
  { mode: "call-per-step", fnId: "ten-per-call" },
];

/** Runs the benchmark, prints its table and writes bench/results/executor.{json,svg}. */
export async function run(options: ExecutorBenchOptions = {}): Promise<ExecutorBenchResults> {
  const results = await measure(options);
  console.log(formatTable(results));
  const dir = path.join(root, "bench", "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "executor.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(path.join(dir, "executor.svg"), chart(results));
  return results;
}

/**
 * The app's environment as a deployment gives it: its own few variables, not
 * the shell and npm environment of whoever runs the benchmark.
 * NOTE: the SDK copies the whole of process.env several times per step
 * (getProcessEnv), so the app's CPU per step grows with the environment's size.
 */
function appEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  if (process.env.BENCH_APP_INHERIT_ENV === "1") return { ...process.env, ...extra };
  const keep = ["PATH", "HOME", "TMPDIR", "TZ", "LANG"];
  return {
    NODE_ENV: "production",
    ...Object.fromEntries(
      keep.flatMap((key) => (process.env[key] ? [[key, process.env[key]]] : [])),
    ),
    ...extra,
  };
}

function startBenchApp(port: number, inngestUrl: string): ChildProcess {
  return spawn(
    process.execPath,
    [
      ...(process.env.BENCH_APP_NODE_FLAGS?.split(" ").filter(Boolean) ?? []),
      "--import",
      "tsx",
      "inngest-executor/fixtures/bench-app.ts",
    ],
    {
      cwd: root,
      env: appEnvironment({ APP_PORT: String(port), INNGEST_DEV: inngestUrl }),
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
}

/** utime + stime of a process in ms, from /proc (Linux); null elsewhere or once it has exited. */
/** Counts CPU time of the app, this process and the database's backends between start() and stop(). */
class CpuMeter {
  private app = 0;
  private self = 0;
  private postgres = 0;
  private postgresKnown = true;
  private appKnown = true;
  private started: { app: number | null; self: NodeJS.CpuUsage; pg: Map<number, number> } | null =
    null;

  constructor(
    private readonly appPid: number | undefined,
    private readonly backends: () => Promise<number[]>,
  ) {}

  async start(): Promise<void> {
    const pids = await this.backends();
    this.started = {
      app: processCpuMs(this.appPid),
      self: process.cpuUsage(),
      pg: new Map(
        pids.flatMap((pid) =>
          ((ms) => (ms === null ? [] : [[pid, ms] as const]))(processCpuMs(pid)),
        ),
      ),
    };
  }

  async stop(): Promise<void> {
    const started = this.started;
    if (!started) return;
    this.started = null;
    const self = process.cpuUsage(started.self);
    this.self += (self.user + self.system) / 1000;
    const app = processCpuMs(this.appPid);
    if (app === null || started.app === null) this.appKnown = false;
    else this.app += app - started.app;
    if (started.pg.size === 0) this.postgresKnown = false;
    // Backends that came or went in between are not counted (the pools keep theirs open while busy).
    for (const [pid, before] of started.pg) {
      const after = processCpuMs(pid);
      if (after !== null) this.postgres += after - before;
    }
  }

  perStep(steps: number): CpuPerStep {
    const round = (value: number) => Math.round((value / steps) * 100) / 100;
    return {
      app: this.appKnown ? round(this.app) : null,
      executor: round(this.self),
      postgres: this.postgresKnown ? round(this.postgres) : null,
    };
  }
}

interface RunOutput {
  starts: number[];
}

/**
 * The SDK alone: a copy of the bench app whose INNGEST_DEV is a server that
 * answers every checkpoint with 200 and stores nothing, and a driver that calls
 * the app's serve endpoint with the request an executor sends, keeping the
 * memoized steps in memory.
 */
async function startSdkOnly() {
  const finished = new Map<string, (output: RunOutput) => void>();
  const stub = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (req.url?.startsWith("/v1/checkpoint/")) {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
          run_id: string;
          steps?: { op: string; data?: unknown }[];
        };
        const complete = body.steps?.find((op) => op.op === "RunComplete");
        if (complete) finished.get(body.run_id)?.(complete.data as RunOutput);
      }
      res.writeHead(200, { "content-type": "application/json", "x-inngest-server-kind": "dev" });
      res.end('{"ok":true}');
    });
  });
  stub.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => stub.listen(0, "127.0.0.1", () => resolve()));
  const stubUrl = `http://127.0.0.1:${(stub.address() as { port: number }).port}`;
  const port = await freePort();
  const app = startBenchApp(port, stubUrl);
  const appUrl = `http://127.0.0.1:${port}/api/inngest`;
  const agent = new http.Agent({ keepAlive: true });

  let functions: { id: string; url: string; event: string }[] = [];
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(appUrl, {
        method: "PUT",
        headers: {
          "content-type": "application/json",
          "x-inngest-sync-kind": "in_band",
          "x-inngest-server-kind": "dev",
        },
        body: JSON.stringify({ url: appUrl }),
      });
      const body = (await res.json()) as {
        functions: {
          id: string;
          triggers: { event: string }[];
          steps: Record<string, { runtime: { url: string } }>;
        }[];
      };
      functions = body.functions.map((fn) => ({
        id: fn.id,
        url: Object.values(fn.steps)[0]!.runtime.url,
        event: fn.triggers[0]!.event,
      }));
      break;
    } catch (err) {
      if (i > 100) throw err;
      await sleep(100);
    }
  }

  const post = (url: string, body: unknown) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        url,
        {
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "x-inngest-server-kind": "dev" },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (text += chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(JSON.stringify(body));
    });

  /** One run of a function, driven to completion as an executor would, with nothing stored. */
  const runOnce = async (fnId: string): Promise<RunOutput> => {
    const fn = functions.find((candidate) => candidate.id.endsWith(fnId));
    if (!fn) throw new Error(`bench app has no function ${fnId}`);
    const runId = randomUUID();
    const event = { id: randomUUID(), name: fn.event, data: {}, ts: Date.now() };
    const steps: Record<string, unknown> = {};
    const stack: string[] = [];
    const url = new URL(fn.url);
    url.searchParams.set("stepId", "step");
    const done = new Promise<RunOutput>((resolve) => finished.set(runId, resolve));
    try {
      for (let call = 0; call < 50; call++) {
        const res = await post(url.toString(), {
          event,
          events: [event],
          steps,
          ctx: {
            run_id: runId,
            fn_id: fn.id,
            attempt: 0,
            max_attempts: 4,
            disable_immediate_execution: false,
            use_api: false,
            qi_id: `1:${runId}`,
            stack: { stack, current: Math.max(stack.length - 1, 0) },
          },
        });
        if (res.status === 200) return JSON.parse(res.text) as RunOutput;
        if (res.status !== 206) throw new Error(`SDK answered ${res.status}: ${res.text}`);
        const parsed = JSON.parse(res.text) as { id: string; op: string; data?: unknown }[];
        const ops = Array.isArray(parsed) ? parsed : [parsed];
        const complete = ops.find((op) => op.op === "RunComplete");
        if (complete) return (complete.data as RunOutput | undefined) ?? (await done);
        for (const op of ops) {
          steps[op.id] = { type: "data", data: op.data ?? null };
          stack.push(op.id);
        }
      }
      throw new Error("run did not complete in 50 calls");
    } finally {
      finished.delete(runId);
    }
  };

  return {
    pid: app.pid,
    runOnce,
    async stop() {
      await stopChild(app);
      agent.destroy();
      stub.closeAllConnections();
      await new Promise<void>((resolve) => stub.close(() => resolve()));
    },
  };
}

export async function measure(options: ExecutorBenchOptions = {}): Promise<ExecutorBenchResults> {
  const sequentialRuns = options.sequentialRuns ?? 60;
  const rounds50 = options.rounds50 ?? 6;
  const queuedRuns = options.queuedRuns ?? 1000;
  const base = new URL(
    process.env.BENCH_DATABASE_BASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres",
  );
  const dbName = `dispatch_bench_executor_${process.pid}`;
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(base);
  dbUrl.pathname = `/${dbName}`;

  const executor = await startExecutor({
    databaseUrl: dbUrl.toString(),
    port: 0,
    log: () => undefined,
  });
  const appPort = await freePort();
  const app = startBenchApp(appPort, executor.url);
  const sdkOnly = await startSdkOnly();
  const db = new pg.Pool({ connectionString: dbUrl.toString(), max: 2 });
  db.on("error", (err) => console.error(`bench db: ${err.message}`));
  const backends = async () =>
    (
      await admin.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        [dbName],
      )
    ).rows.map((row) => row.pid);
  try {
    const appUrl = `http://127.0.0.1:${appPort}/api/inngest`;
    for (let i = 0; ; i++) {
      try {
        await executor.sync(appUrl);
        break;
      } catch (err) {
        if (i > 100) throw err;
        await sleep(100);
      }
    }

    const send = async (name: string, count: number) => {
      const sentAt = now();
      const res = await fetch(`${executor.url}/e/bench`, {
        method: "POST",
        body: JSON.stringify(Array.from({ length: count }, () => ({ name, data: {} }))),
      });
      const { ids } = (await res.json()) as { ids: string[] };
      return { ids, sentAt };
    };
    const outputs = async (ids: string[], timeoutMs = 120_000) => {
      const deadline = Date.now() + timeoutMs;
      // NOTE: poll with a count and read the outputs once: reading every completed run's output
      // each poll costs the benchmark's process (which hosts the executor) and Postgres CPU that
      // grows with the number of runs, and it would be counted as the executor's.
      for (;;) {
        const { rows: counted } = await db.query<{ n: string }>(
          `SELECT count(*) AS n FROM inngest_executor.runs WHERE event_id = ANY($1) AND status = 'completed'`,
          [ids],
        );
        const done = Number(counted[0]?.n ?? 0);
        if (done === ids.length) break;
        if (Date.now() > deadline) throw new Error(`only ${done}/${ids.length} runs completed`);
        await sleep(ids.length >= 100 ? 100 : ids.length > 1 ? 20 : 2);
      }
      const { rows } = await db.query<{
        output: { starts: number[]; finished: number };
        started_ms: number;
      }>(
        `SELECT output, extract(epoch FROM started_at) * 1000 AS started_ms FROM inngest_executor.runs
         WHERE event_id = ANY($1) AND status = 'completed'`,
        [ids],
      );
      return rows.map((row) => ({ ...row.output, startedMs: Number(row.started_ms) }));
    };
    const firstAndPerStep = (starts: number[], sentAt: number) => {
      const first = starts[0] ?? NaN;
      const last = starts[starts.length - 1] ?? NaN;
      return { first: first - sentAt, perStep: (last - first) / (starts.length - 1) };
    };

    // Warm up both apps and both paths (JIT, connection pools) before measuring.
    for (const { fnId } of MODES) {
      await outputs((await send(`bench/${fnId}`, 20)).ids);
      await Promise.all(Array.from({ length: 20 }, () => sdkOnly.runOnce(fnId)));
    }

    const scenarios: ScenarioResult[] = [];
    for (const { mode, fnId } of MODES) {
      for (const concurrency of [1, 50]) {
        const latencies: number[] = [];
        const dispatches: number[] = [];
        const overheads: number[] = [];
        const sdkLatencies: number[] = [];
        const sdkOverheads: number[] = [];
        const executorCpu = new CpuMeter(app.pid, backends);
        const sdkCpu = new CpuMeter(sdkOnly.pid, async () => []);
        const batches = concurrency === 1 ? sequentialRuns : rounds50;
        const viaExecutor = async () => {
          await executorCpu.start();
          const { ids, sentAt } = await send(`bench/${fnId}`, concurrency);
          const done = await outputs(ids);
          await executorCpu.stop();
          for (const output of done) {
            const { first, perStep } = firstAndPerStep(output.starts, sentAt);
            latencies.push(first);
            overheads.push(perStep);
            dispatches.push(output.startedMs - sentAt);
          }
        };
        const alone = async () => {
          await sdkCpu.start();
          const sentAt = now();
          const done = await Promise.all(
            Array.from({ length: concurrency }, () => sdkOnly.runOnce(fnId)),
          );
          await sdkCpu.stop();
          for (const output of done) {
            const { first, perStep } = firstAndPerStep(output.starts, sentAt);
            sdkLatencies.push(first);
            sdkOverheads.push(perStep);
          }
        };
        // Alternate which goes first, so drifting load on the shared machine hits both alike.
        for (let b = 0; b < batches; b++) {
          if (b % 2 === 0) {
            await viaExecutor();
            await alone();
          } else {
            await alone();
            await viaExecutor();
          }
        }
        const steps = batches * concurrency * 10;
        const eventToFirstStepMs = percentiles(latencies);
        const perStepOverheadMs = percentiles(overheads);
        const sdk = {
          callToFirstStepMs: percentiles(sdkLatencies),
          perStepOverheadMs: percentiles(sdkOverheads),
          appCpuMsPerStep: sdkCpu.perStep(steps).app,
        };
        scenarios.push({
          mode,
          concurrency,
          eventToFirstStepMs,
          eventToFirstCallMs: percentiles(dispatches),
          perStepOverheadMs,
          cpuMsPerStep: executorCpu.perStep(steps),
          sdkOnly: sdk,
          ratio: {
            firstStepP50: ratio(eventToFirstStepMs.p50, sdk.callToFirstStepMs.p50),
            firstStepP95: ratio(eventToFirstStepMs.p95, sdk.callToFirstStepMs.p95),
            perStepP50: ratio(perStepOverheadMs.p50, sdk.perStepOverheadMs.p50),
            perStepP95: ratio(perStepOverheadMs.p95, sdk.perStepOverheadMs.p95),
          },
          meetsTarget:
            eventToFirstStepMs.p95 <= TARGETS.eventToFirstStepP95Ms &&
            perStepOverheadMs.p95 <= TARGETS.perStepOverheadMs,
        });
      }
    }

    const throughput: ExecutorBenchResults["throughput"] = [];
    for (const { mode, fnId } of MODES) {
      // The SDK alone, first: as many runs at once as the executor's worker capacity.
      const aloneStarted = now();
      let next = 0;
      await Promise.all(
        Array.from({ length: EXECUTOR_WORKER_CAPACITY }, async () => {
          while (next < queuedRuns) {
            next++;
            await sdkOnly.runOnce(fnId);
          }
        }),
      );
      const aloneRunsPerSecond = queuedRuns / ((now() - aloneStarted) / 1000);
      const started = now();
      const cpuBefore = process.cpuUsage();
      const { ids } = await send(`bench/${fnId}`, queuedRuns);
      await outputs(ids, 600_000);
      const seconds = (now() - started) / 1000;
      const cpu = process.cpuUsage(cpuBefore);
      throughput.push({
        mode,
        runs: queuedRuns,
        seconds: Math.round(seconds * 100) / 100,
        runsPerSecond: Math.round((queuedRuns / seconds) * 10) / 10,
        executorCpuMsPerStep:
          Math.round(((cpu.user + cpu.system) / 1000 / (queuedRuns * 10)) * 100) / 100,
        sdkAloneRunsPerSecond: Math.round(aloneRunsPerSecond * 10) / 10,
        ratio: ratio(queuedRuns / seconds, aloneRunsPerSecond),
      });
    }

    const flowControl: ExecutorBenchResults["flowControl"] = [];
    for (const { rule, fnId, setting, keys } of FLOW_CASES) {
      const meter = new CpuMeter(app.pid, backends);
      await meter.start();
      const started = now();
      // Sent as an app sends them: in batches, here of 100 events.
      for (let batch = 0; batch < FLOW_EVENTS / 100; batch++) {
        await fetch(`${executor.url}/e/bench`, {
          method: "POST",
          body: JSON.stringify(
            Array.from({ length: 100 }, (_, i) => ({
              name: `bench/${fnId}`,
              data: { k: (batch * 100 + i) % keys },
            })),
          ),
        });
      }
      // Done once every event has been sent and no run of the function is left to start or finish.
      const deadline = Date.now() + 120_000;
      let runs = 0;
      for (let open = 1; open > 0 && Date.now() < deadline;) {
        await sleep(20);
        const { rows } = await db.query<{ done: string; open: string }>(
          `SELECT count(*) FILTER (WHERE status = 'completed') AS done, count(*) FILTER (WHERE status = 'running') AS open
           FROM inngest_executor.runs WHERE function_id LIKE $1`,
          [`%${fnId}`],
        );
        runs = Number(rows[0]?.done ?? 0);
        open = Number(rows[0]?.open ?? 0);
      }
      await meter.stop();
      const seconds = (now() - started) / 1000;
      flowControl.push({
        rule,
        setting,
        events: FLOW_EVENTS,
        runs,
        seconds: Math.round(seconds * 100) / 100,
        runsPerSecond: Math.round((runs / seconds) * 10) / 10,
        cpuMsPerEvent: meter.perStep(FLOW_EVENTS),
      });
    }

    return {
      at: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        node: process.version,
        loadAverage: loadavg().map((v) => Math.round(v * 100) / 100),
      },
      appEnvironment: {
        inherited: process.env.BENCH_APP_INHERIT_ENV === "1",
        variables: Object.keys(appEnvironment({ APP_PORT: "", INNGEST_DEV: "" })).length,
      },
      scenarios,
      throughput,
      flowControl,
      targets: TARGETS,
    };
  } finally {
    await Promise.allSettled([stopChild(app), sdkOnly.stop()]);
    await db.end();
    await executor.stop();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

function ratio(value: number, floor: number): number {
  return floor > 0 ? Math.round((value / floor) * 100) / 100 : NaN;
}

export function formatTable(results: ExecutorBenchResults): string {
  const cpu = (value: number | null) => (value === null ? "?" : String(value));
  const env = results.appEnvironment;
  const lines = [
    `executor benchmark: ${results.machine.cpus} CPUs, load average ${results.machine.loadAverage.join(" / ")} (shared machine); ` +
      `app environment: ${env.inherited ? "inherited from the benchmark runner" : "a deployment's"} (${env.variables} variables)`,
    `targets: event → first step p95 ≤ ${results.targets.eventToFirstStepP95Ms} ms, per-step overhead ≤ ${results.targets.perStepOverheadMs} ms`,
    "",
    "through the executor (ms)",
    "mode            conc  event→first step p50/p95/p99   event→first call p50/p95   per-step p50/p95/p99    CPU ms/step app/executor/postgres  target",
    ...results.scenarios.map((s) => {
      const l = s.eventToFirstStepMs;
      const d = s.eventToFirstCallMs;
      const o = s.perStepOverheadMs;
      const c = s.cpuMsPerStep;
      return `${s.mode.padEnd(15)} ${String(s.concurrency).padStart(4)}  ${`${l.p50} / ${l.p95} / ${l.p99}`.padEnd(30)} ${`${d.p50} / ${d.p95}`.padEnd(26)} ${`${o.p50} / ${o.p95} / ${o.p99}`.padEnd(23)} ${`${cpu(c.app)} / ${cpu(c.executor)} / ${cpu(c.postgres)}`.padEnd(34)} ${s.meetsTarget ? "met" : "NOT met"}`;
    }),
    "",
    "the SDK alone, same app and payloads, no executor and no database (ms), and executor ÷ SDK alone",
    "mode            conc  call→first step p50/p95   per-step p50/p95   app CPU ms/step   ratio first step p50/p95   ratio per-step p50/p95",
    ...results.scenarios.map((s) => {
      const l = s.sdkOnly.callToFirstStepMs;
      const o = s.sdkOnly.perStepOverheadMs;
      return `${s.mode.padEnd(15)} ${String(s.concurrency).padStart(4)}  ${`${l.p50} / ${l.p95}`.padEnd(25)} ${`${o.p50} / ${o.p95}`.padEnd(18)} ${cpu(s.sdkOnly.appCpuMsPerStep).padEnd(17)} ${`${s.ratio.firstStepP50}× / ${s.ratio.firstStepP95}×`.padEnd(26)} ${s.ratio.perStepP50}× / ${s.ratio.perStepP95}×`;
    }),
    "",
    ...results.throughput.map(
      (t) =>
        `throughput ${t.mode}: ${t.runs} queued 10-step runs in ${t.seconds} s = ${t.runsPerSecond} runs/s (executor CPU ${t.executorCpuMsPerStep} ms/step); ` +
        `SDK alone ${t.sdkAloneRunsPerSecond} runs/s; ratio ${t.ratio}×`,
    ),
    "",
    ...results.flowControl.map(
      (f) =>
        `flow control ${f.rule} (${f.setting}): ${f.events} events → ${f.runs} runs in ${f.seconds} s (${f.runsPerSecond} runs/s); ` +
        `CPU ms/event executor ${cpu(f.cpuMsPerEvent.executor)} · postgres ${cpu(f.cpuMsPerEvent.postgres)} · app ${cpu(f.cpuMsPerEvent.app)}`,
    ),
  ];
  return lines.join("\n");
}

function chart(results: ExecutorBenchResults): string {
  const find = (mode: Mode, concurrency: number) =>
    results.scenarios.find((s) => s.mode === mode && s.concurrency === concurrency);
  const groups = [1, 50].flatMap((concurrency) => [
    {
      label: `first step p95 · ${concurrency} run${concurrency > 1 ? "s" : ""}`,
      target: results.targets.eventToFirstStepP95Ms,
      bars: MODES.flatMap(({ mode }) => {
        const s = find(mode, concurrency);
        return s
          ? [
              { series: `executor, ${mode}`, value: s.eventToFirstStepMs.p95 },
              { series: `SDK alone, ${mode}`, value: s.sdkOnly.callToFirstStepMs.p95 },
            ]
          : [];
      }),
    },
    {
      label: `per step p95 · ${concurrency} run${concurrency > 1 ? "s" : ""}`,
      target: results.targets.perStepOverheadMs,
      bars: MODES.flatMap(({ mode }) => {
        const s = find(mode, concurrency);
        return s
          ? [
              { series: `executor, ${mode}`, value: s.perStepOverheadMs.p95 },
              { series: `SDK alone, ${mode}`, value: s.sdkOnly.perStepOverheadMs.p95 },
            ]
          : [];
      }),
    },
  ]);
  return barChart({
    title: "Executor vs the SDK alone, 10-step no-op (dashed: target)",
    unit: "ms",
    groups,
    scale: "log",
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await run();
}
