/**
 * `npm run bench`: every benchmark, one after the other (they would disturb
 * each other if run together on two cores), each writing its JSON (and, where
 * a picture helps, an SVG) to bench/results/. `npm run bench -- chat` runs one;
 * `--name value` options go to the benchmark that takes them (`load`).
 *
 * Figures are only comparable within one run: each benchmark measures its
 * baseline and its subject side by side and reports ratios and medians.
 */
import { provideDatabase } from "@/scripts/lib/database";
import { run as batchJobs } from "./batch-jobs";
import { run as chat } from "./chat";
import { run as executor } from "./executor";
import { run as jobEvents } from "./job-events";
import { loadOptions, run as load } from "./load";

const args = process.argv.slice(2);
const benchmarks: Record<string, () => Promise<unknown>> = {
  chat: () => chat(),
  executor: () => executor(),
  "job-events": () => jobEvents(),
  "batch-jobs": () => batchJobs(),
  load: () => load(loadOptions(args)),
};

// Names, not options or their values (`load --duration 60`).
const wanted = args.filter((arg, i) => !arg.startsWith("-") && !args[i - 1]?.startsWith("--"));
const unknown = wanted.filter((name) => !(name in benchmarks));
if (unknown.length) {
  console.error(
    `Unknown benchmark(s): ${unknown.join(", ")}. Known: ${Object.keys(benchmarks).join(", ")}`,
  );
  process.exit(2);
}
// The benchmarks' throwaway databases go on BENCH_DATABASE_BASE_URL's server,
// or on the test suite's (the embedded test cluster when none is configured).
const database = process.env.BENCH_DATABASE_BASE_URL
  ? { stop: async () => {} }
  : await provideDatabase("test", (line) => console.log(`[db] ${line}`));
for (const name of wanted.length ? wanted : Object.keys(benchmarks)) {
  console.log(`\n=== ${name} ===`);
  const started = performance.now();
  await benchmarks[name]!();
  console.log(`(${name}: ${((performance.now() - started) / 1000).toFixed(0)} s)`);
}
await database.stop();
console.log("\nResults: bench/results/*.json, charts: bench/results/*.svg");
