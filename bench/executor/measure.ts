/**
 * The executor benchmark's measurement: its own database, the executor in
 * this process, the bench app in a child process and the SDK alone beside
 * it; then latency per scenario, throughput of queued runs, and flow control.
 */
import { cpus, loadavg } from "node:os";
import pg from "pg";
import { startExecutor } from "@/inngest-executor/index";
import { freePort, stopChild } from "../lib/process";
import { percentiles } from "../lib/stats";
import { appEnvironment, startBenchApp, startSdkOnly } from "./apps";
import { CpuMeter } from "./cpu-meter";
import {
  EXECUTOR_WORKER_CAPACITY,
  FLOW_CASES,
  FLOW_EVENTS,
  MODES,
  ratio,
  TARGETS,
  type ExecutorBenchOptions,
  type ExecutorBenchResults,
  type ScenarioResult,
} from "./results";

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What every phase of the measurement works with. */
interface BenchContext {
  executorUrl: string;
  appPid: number | undefined;
  sdkOnly: Awaited<ReturnType<typeof startSdkOnly>>;
  db: pg.Pool;
  /** The Postgres backends connected to the benchmark's database, for the CPU meter. */
  backends: () => Promise<number[]>;
  /** Sends `count` events named `name`; their ids and when they were sent. */
  send: (name: string, count: number) => Promise<{ ids: string[]; sentAt: number }>;
  /** The outputs of the runs of these events, once all have completed. */
  outputs: (
    ids: string[],
    timeoutMs?: number,
  ) => Promise<{ starts: number[]; finished: number; startedMs: number }[]>;
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

    const ctx: BenchContext = {
      executorUrl: executor.url,
      appPid: app.pid,
      sdkOnly,
      db,
      backends,
      send: (name, count) => sendEvents(executor.url, name, count),
      outputs: (ids, timeoutMs) => completedOutputs(db, ids, timeoutMs),
    };
    // Warm up both apps and both paths (JIT, connection pools) before measuring.
    for (const { fnId } of MODES) {
      await ctx.outputs((await ctx.send(`bench/${fnId}`, 20)).ids);
      await Promise.all(Array.from({ length: 20 }, () => sdkOnly.runOnce(fnId)));
    }

    const scenarios = await measureScenarios(ctx, sequentialRuns, rounds50);
    const throughput = await measureThroughput(ctx, queuedRuns);
    const flowControl = await measureFlowControl(ctx);
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

async function sendEvents(executorUrl: string, name: string, count: number) {
  const sentAt = now();
  const res = await fetch(`${executorUrl}/e/bench`, {
    method: "POST",
    body: JSON.stringify(Array.from({ length: count }, () => ({ name, data: {} }))),
  });
  const { ids } = (await res.json()) as { ids: string[] };
  return { ids, sentAt };
}

async function completedOutputs(db: pg.Pool, ids: string[], timeoutMs = 120_000) {
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
}

function firstAndPerStep(starts: number[], sentAt: number) {
  const first = starts[0] ?? NaN;
  const last = starts[starts.length - 1] ?? NaN;
  return { first: first - sentAt, perStep: (last - first) / (starts.length - 1) };
}

/** Event → first step and per-step overhead, at 1 and 50 runs at once, beside the SDK alone. */
async function measureScenarios(
  ctx: BenchContext,
  sequentialRuns: number,
  rounds50: number,
): Promise<ScenarioResult[]> {
  const scenarios: ScenarioResult[] = [];
  for (const { mode, fnId } of MODES) {
    for (const concurrency of [1, 50]) {
      const latencies: number[] = [];
      const dispatches: number[] = [];
      const overheads: number[] = [];
      const sdkLatencies: number[] = [];
      const sdkOverheads: number[] = [];
      const executorCpu = new CpuMeter(ctx.appPid, ctx.backends);
      const sdkCpu = new CpuMeter(ctx.sdkOnly.pid, async () => []);
      const batches = concurrency === 1 ? sequentialRuns : rounds50;
      const viaExecutor = async () => {
        await executorCpu.start();
        const { ids, sentAt } = await ctx.send(`bench/${fnId}`, concurrency);
        const done = await ctx.outputs(ids);
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
          Array.from({ length: concurrency }, () => ctx.sdkOnly.runOnce(fnId)),
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
  return scenarios;
}

/** Queued runs per second through the executor, and through the SDK alone. */
async function measureThroughput(
  ctx: BenchContext,
  queuedRuns: number,
): Promise<ExecutorBenchResults["throughput"]> {
  const throughput: ExecutorBenchResults["throughput"] = [];
  for (const { mode, fnId } of MODES) {
    // The SDK alone, first: as many runs at once as the executor's worker capacity.
    const aloneStarted = now();
    let next = 0;
    await Promise.all(
      Array.from({ length: EXECUTOR_WORKER_CAPACITY }, async () => {
        while (next < queuedRuns) {
          next++;
          await ctx.sdkOnly.runOnce(fnId);
        }
      }),
    );
    const aloneRunsPerSecond = queuedRuns / ((now() - aloneStarted) / 1000);
    const started = now();
    const cpuBefore = process.cpuUsage();
    const { ids } = await ctx.send(`bench/${fnId}`, queuedRuns);
    await ctx.outputs(ids, 600_000);
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
  return throughput;
}

/** 1,000 events into a one-step function under a throttle, and under a debounce. */
async function measureFlowControl(ctx: BenchContext): Promise<ExecutorBenchResults["flowControl"]> {
  const flowControl: ExecutorBenchResults["flowControl"] = [];
  for (const { rule, fnId, setting, keys } of FLOW_CASES) {
    const meter = new CpuMeter(ctx.appPid, ctx.backends);
    await meter.start();
    const started = now();
    // Sent as an app sends them: in batches, here of 100 events.
    for (let batch = 0; batch < FLOW_EVENTS / 100; batch++) {
      await fetch(`${ctx.executorUrl}/e/bench`, {
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
      const { rows } = await ctx.db.query<{ done: string; open: string }>(
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
  return flowControl;
}
