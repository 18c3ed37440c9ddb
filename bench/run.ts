/**
 * `npm run bench`: every benchmark, one after the other (they would disturb
 * each other if run together on two cores), each writing its JSON (and, where
 * a picture helps, an SVG) to bench/results/. `npm run bench -- chat` runs one.
 *
 * Figures are only comparable within one run: each benchmark measures its
 * baseline and its subject side by side and reports ratios and medians.
 */
import { run as chat } from "./chat";
import { run as executor } from "./executor";
import { run as jobEvents } from "./job-events";

const benchmarks: Record<string, () => Promise<unknown>> = {
  chat: () => chat(),
  executor: () => executor(),
  "job-events": () => jobEvents(),
};

const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith("-"));
const unknown = wanted.filter((name) => !(name in benchmarks));
if (unknown.length) {
  console.error(
    `Unknown benchmark(s): ${unknown.join(", ")}. Known: ${Object.keys(benchmarks).join(", ")}`,
  );
  process.exit(2);
}
for (const name of wanted.length ? wanted : Object.keys(benchmarks)) {
  console.log(`\n=== ${name} ===`);
  const started = performance.now();
  await benchmarks[name]!();
  console.log(`(${name}: ${((performance.now() - started) / 1000).toFixed(0)} s)`);
}
console.log("\nResults: bench/results/*.json, charts: bench/results/*.svg");
