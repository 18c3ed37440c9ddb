/**
 * Benchmark of batch jobs (issue 15): N one-paragraph items summarized in
 * economy mode (the demo model's Batch API with no delay) and the same N in
 * now mode (live calls under the job's concurrency cap), each in its own
 * process, through the real SDK, the embedded executor and Postgres. Per
 * mode: wall time, peak RSS of the process (app, executor and demo model
 * together), executor steps, and the job's Postgres rows and bytes per item.
 * It creates and drops its own database.
 *
 *   npm run bench -- batch-jobs          (10,000 items; writes bench/results/batch-jobs.json)
 *   BATCH_BENCH_ITEMS=1000 npm run bench -- batch-jobs
 *
 * Each mode runs in a child Node process (bench/lib/server-role.ts).
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const MODES = ["economy", "now"] as const;
type Mode = (typeof MODES)[number];

interface ModeResult {
  mode: Mode;
  items: number;
  done: number;
  failed: number;
  wallSeconds: number;
  peakRssBytes: number;
  executorSteps: number;
  executorStepsPerItem: number;
  postgres: { rows: Record<string, number>; rowsPerItem: number; bytesPerItem: number };
}

export interface BatchJobsBenchResults {
  machine: { cpus: number; node: string; note: string };
  items: number;
  modes: ModeResult[];
}

const paragraph = (n: number) =>
  `Item ${n}: the autovacuum daemon removes dead row versions left behind by updates and deletes, ` +
  `and refreshes planner statistics so that queries keep choosing good plans; busy tables are vacuumed more often than quiet ones.`;

// ---------------------------------------------------------------- parent ---

export async function run(options: { items?: number } = {}): Promise<BatchJobsBenchResults> {
  const items = options.items ?? Number(process.env.BATCH_BENCH_ITEMS ?? 10_000);
  const { runServerRole } = await import("./lib/server-role");
  const modes: ModeResult[] = [];
  for (const mode of MODES) {
    const result = await runServerRole<ModeResult>({
      script: import.meta.url,
      database: `dispatch_bench_batch_${mode}_${process.pid}`,
      resultVariable: "BATCH_BENCH_RESULT",
      env: {
        AI_PROVIDER: "demo",
        BATCH_POLL_MIN_MS: "1000",
        BATCH_POLL_MAX_MS: "2000",
        BATCH_BENCH_MODE: mode,
        BATCH_BENCH_ITEMS: String(items),
      },
      label: `The ${mode} benchmark process`,
    });
    modes.push(result);
    console.log(
      `${mode}: ${result.done}/${result.items} done in ${result.wallSeconds.toFixed(1)} s, ` +
        `${result.executorSteps} executor steps (${result.executorStepsPerItem.toFixed(3)}/item), ` +
        `${result.postgres.rowsPerItem.toFixed(2)} rows and ${Math.round(result.postgres.bytesPerItem)} bytes per item, ` +
        `peak RSS ${(result.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
    );
  }
  const results: BatchJobsBenchResults = {
    machine: {
      cpus: os.cpus().length,
      node: process.version,
      note: "one process per mode holds the app's functions, the embedded executor and the demo model; figures compare within one run",
    },
    items,
    modes,
  };
  mkdirSync(path.join(root, "bench/results"), { recursive: true });
  writeFileSync(
    path.join(root, "bench/results/batch-jobs.json"),
    `${JSON.stringify(results, null, 2)}\n`,
  );
  return results;
}

// ---------------------------------------------------------------- server ---

async function serverRole() {
  const mode = process.env.BATCH_BENCH_MODE as Mode;
  const items = Number(process.env.BATCH_BENCH_ITEMS);
  const { startDemoModel } = await import("@/lib/ai/demo-model/server");
  const { startExecutor } = await import("@/inngest-executor");
  const schema = "bench_batch_executor";
  const model = await startDemoModel({
    port: 0,
    ttftMs: 0,
    tokensPerSecond: 0,
    batch: { delayMs: 0, rowsPerSecond: 0 },
  });
  const executor = await startExecutor({
    databaseUrl: process.env.DATABASE_URL,
    port: 0,
    schema,
    log: () => undefined,
  });
  process.env.DEMO_MODEL_URL = model.url;
  process.env.INNGEST_DEV = executor.url;

  const { serve } = await import("inngest/node");
  const { inngest } = await import("@/inngest/client");
  const { functions } = await import("@/inngest/functions");
  const { db } = await import("@/lib/db");
  const { createJob } = await import("@/lib/jobs/create");
  const handler = serve({ client: inngest, functions });
  const app = http.createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", () => resolve()));
  await executor.sync(`http://127.0.0.1:${(app.address() as AddressInfo).port}/api/inngest`);

  const ownerId = randomUUID();
  await db.owner.create({ data: { id: ownerId }, select: { id: true } });
  const content = Array.from({ length: items }, (_, i) => JSON.stringify(paragraph(i + 1))).join(
    "\n",
  );
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 100);
  const started = performance.now();
  const { id } = await createJob(
    ownerId,
    {
      kind: "batch",
      mode,
      source: { type: "table", format: "jsonl", fileName: "bench.jsonl", content },
    },
    randomUUID(),
  );
  for (;;) {
    const job = await db.job.findUniqueOrThrow({ where: { id }, select: { status: true } });
    if (["completed", "failed", "cancelled"].includes(job.status)) {
      if (job.status !== "completed") throw new Error(`The ${mode} job ended ${job.status}`);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const wallSeconds = (performance.now() - started) / 1000;
  clearInterval(sampler);

  const counts = await db.batchItem.groupBy({
    by: ["status"],
    where: { jobId: id },
    _count: { _all: true },
  });
  const count = (status: string) =>
    counts.find((group) => group.status === status)?._count._all ?? 0;
  const tables = ["jobs", "batch_items", "job_events", "job_usage", "provider_batches"] as const;
  const rows: Record<string, number> = {};
  let bytes = 0;
  for (const table of tables) {
    const column = table === "jobs" ? "id" : "job_id";
    const [row] = await db.$queryRawUnsafe<Array<{ rows: bigint; bytes: bigint | null }>>(
      `SELECT count(*) AS rows, sum(pg_column_size(t.*)) AS bytes FROM ${table} t WHERE ${column} = $1`,
      id,
    );
    rows[table] = Number(row!.rows);
    bytes += Number(row!.bytes ?? 0);
  }
  const [steps] = await db.$queryRawUnsafe<Array<{ steps: bigint }>>(
    `SELECT count(*) AS steps FROM ${schema}.run_steps s JOIN ${schema}.runs r ON r.id = s.run_id WHERE r.function_id LIKE '%summarize-batch'`,
  );
  const executorSteps = Number(steps!.steps);
  const totalRows = Object.values(rows).reduce((sum, n) => sum + n, 0);
  const result: ModeResult = {
    mode,
    items,
    done: count("done"),
    failed: count("failed"),
    wallSeconds,
    peakRssBytes: peakRss,
    executorSteps,
    executorStepsPerItem: executorSteps / items,
    postgres: { rows, rowsPerItem: totalRows / items, bytesPerItem: bytes / items },
  };
  writeFileSync(process.env.BATCH_BENCH_RESULT!, JSON.stringify(result));
  app.closeAllConnections();
  await new Promise<void>((resolve) => app.close(() => resolve()));
  await executor.stop();
  await model.stop();
  await db.$disconnect();
}

if (process.argv.includes("--role=server")) {
  serverRole().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await run();
}
