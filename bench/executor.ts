/**
 * Benchmark of the embedded Inngest executor: event → first step start
 * latency and per-step overhead of a 10-step no-op function at 1 and 50
 * concurrent runs, and throughput for 1,000 queued runs. It creates and drops
 * its own database; the app runs in a child process, as in development.
 *
 *   npx tsx bench/executor.ts            (writes bench/results/executor.json)
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { startExecutor } from "@/inngest-executor/index";
import { percentiles, type Percentiles } from "./lib/stats";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const now = () => performance.timeOrigin + performance.now();

export interface ScenarioResult {
  mode: "checkpointing" | "call-per-step";
  concurrency: number;
  eventToFirstStepMs: Percentiles;
  /** Event accepted → the executor's first call to the app sent: the executor's own share of the start latency. */
  eventToFirstCallMs: Percentiles;
  perStepOverheadMs: Percentiles;
}

export interface ExecutorBenchResults {
  at: string;
  /** Load average at the end: the machine is shared, and other work inflates latencies. */
  machine: { cpus: number; node: string; loadAverage: number[] };
  scenarios: ScenarioResult[];
  throughput: {
    mode: ScenarioResult["mode"];
    runs: number;
    seconds: number;
    runsPerSecond: number;
    /** CPU time of the executor's process per executed step (excludes Postgres and the app). */
    executorCpuMsPerStep: number;
  }[];
  targets: { eventToFirstStepP95Ms: number; perStepOverheadMs: number };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ExecutorBenchOptions {
  /** Sequential runs measured at concurrency 1 (default 60). */
  sequentialRuns?: number;
  /** Batches of 50 simultaneous runs (default 4). */
  rounds50?: number;
  /** Runs queued at once for the throughput figure (default 1000). */
  queuedRuns?: number;
}

/** Runs the benchmark, prints its table and writes bench/results/executor.json. */
export async function run(options: ExecutorBenchOptions = {}): Promise<ExecutorBenchResults> {
  const results = await measure(options);
  console.log(formatTable(results));
  mkdirSync(path.join(root, "bench", "results"), { recursive: true });
  writeFileSync(
    path.join(root, "bench", "results", "executor.json"),
    `${JSON.stringify(results, null, 2)}\n`,
  );
  return results;
}

export async function measure(options: ExecutorBenchOptions = {}): Promise<ExecutorBenchResults> {
  const sequentialRuns = options.sequentialRuns ?? 60;
  const rounds50 = options.rounds50 ?? 4;
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
  const app = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_APP_NODE_FLAGS?.split(" ").filter(Boolean) ?? []),
      "--import",
      "tsx",
      "inngest-executor/fixtures/bench-app.ts",
    ],
    {
      cwd: root,
      env: { ...process.env, APP_PORT: String(appPort), INNGEST_DEV: executor.url },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  const db = new pg.Pool({ connectionString: dbUrl.toString(), max: 2 });
  db.on("error", (err) => console.error(`bench db: ${err.message}`));
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
      for (;;) {
        const { rows } = await db.query<{
          output: { starts: number[]; finished: number };
          started_ms: number;
        }>(
          `SELECT output, extract(epoch FROM started_at) * 1000 AS started_ms FROM inngest_executor.runs
           WHERE event_id = ANY($1) AND status = 'completed'`,
          [ids],
        );
        if (rows.length === ids.length)
          return rows.map((row) => ({ ...row.output, startedMs: Number(row.started_ms) }));
        if (Date.now() > deadline)
          throw new Error(`only ${rows.length}/${ids.length} runs completed`);
        await sleep(ids.length > 1 ? 20 : 2);
      }
    };

    const modes = [
      { mode: "checkpointing" as const, event: "bench/ten-checkpointed" },
      { mode: "call-per-step" as const, event: "bench/ten-per-call" },
    ];
    // Warm up both paths (JIT, connection pools) before measuring.
    for (const { event } of modes) await outputs((await send(event, 20)).ids);

    const scenarios: ScenarioResult[] = [];
    for (const { mode, event } of modes) {
      for (const concurrency of [1, 50]) {
        const latencies: number[] = [];
        const dispatches: number[] = [];
        const overheads: number[] = [];
        const batches = concurrency === 1 ? sequentialRuns : rounds50;
        for (let b = 0; b < batches; b++) {
          const { ids, sentAt } = await send(event, concurrency);
          for (const output of await outputs(ids)) {
            const first = output.starts[0] ?? NaN;
            const last = output.starts[output.starts.length - 1] ?? NaN;
            latencies.push(first - sentAt);
            dispatches.push(output.startedMs - sentAt);
            overheads.push((last - first) / (output.starts.length - 1));
          }
        }
        scenarios.push({
          mode,
          concurrency,
          eventToFirstStepMs: percentiles(latencies),
          eventToFirstCallMs: percentiles(dispatches),
          perStepOverheadMs: percentiles(overheads),
        });
      }
    }

    const throughput: ExecutorBenchResults["throughput"] = [];
    for (const { mode, event } of modes) {
      const started = now();
      const cpuBefore = process.cpuUsage();
      const { ids } = await send(event, queuedRuns);
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
      });
    }

    return {
      at: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        node: process.version,
        loadAverage: loadavg().map((v) => Math.round(v * 100) / 100),
      },
      scenarios,
      throughput,
      targets: { eventToFirstStepP95Ms: 50, perStepOverheadMs: 10 },
    };
  } finally {
    app.kill("SIGTERM");
    await db.end();
    await executor.stop();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

export function formatTable(results: ExecutorBenchResults): string {
  const lines = [
    `executor benchmark: ${results.machine.cpus} CPUs, load average ${results.machine.loadAverage.join(" / ")} (shared machine)`,
    "mode            conc  event→first step p50/p95/p99 ms   event→first call p50/p95 ms   per-step overhead p50/p95/p99 ms",
    ...results.scenarios.map((s) => {
      const l = s.eventToFirstStepMs;
      const d = s.eventToFirstCallMs;
      const o = s.perStepOverheadMs;
      return `${s.mode.padEnd(15)} ${String(s.concurrency).padStart(4)}  ${`${l.p50} / ${l.p95} / ${l.p99}`.padEnd(32)} ${`${d.p50} / ${d.p95}`.padEnd(29)} ${o.p50} / ${o.p95} / ${o.p99}`;
    }),
    "",
    ...results.throughput.map(
      (t) =>
        `throughput ${t.mode}: ${t.runs} queued 10-step runs in ${t.seconds} s = ${t.runsPerSecond} runs/s (executor CPU ${t.executorCpuMsPerStep} ms/step)`,
    ),
  ];
  return lines.join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await run();
}
