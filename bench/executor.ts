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
 * The parts live in bench/executor/: results.ts (shapes, targets, scenarios),
 * apps.ts (the bench app and the SDK alone), cpu-meter.ts, measure.ts and
 * report.ts (table and chart).
 *
 * BENCH_APP_INHERIT_ENV=1 gives the app processes the benchmark runner's whole
 * environment (npm's npm_* variables included) instead of a deployment's.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { measure } from "./executor/measure";
import { chart, formatTable } from "./executor/report";
import type { ExecutorBenchOptions, ExecutorBenchResults } from "./executor/results";

export { measure } from "./executor/measure";
export { formatTable } from "./executor/report";
export type * from "./executor/results";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

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

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await run();
}
