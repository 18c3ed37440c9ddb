/**
 * The p95 rows of chaos runs side by side, as a picture:
 *
 *   tsx bench/chaos/chart.ts --out bench/results/chaos.svg results.json=label …
 *
 * Each `results.json` is what `npm run chaos -- --out` wrote; each run is a
 * group of bars (the enforced row: the kind of job furthest from its baseline;
 * then all jobs by what they met, against the baseline's p95 of all jobs),
 * against the target, on a log scale.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { barChart } from "../lib/chart";

/** The rows drawn, by id, and the name of their series. */
const SERIES = [
  ["p95", "the slower kind of job (the enforced row)"],
  ["p95-cause-no-outage-no-model-fault", "jobs that met no outage and no model fault"],
  ["p95-cause-a-model-fault-no-outage", "jobs that met a model fault only"],
  ["p95-met", "jobs that met an outage (a kill or a restart)"],
] as const;

const runSchema = z.object({
  results: z.array(z.object({ id: z.string(), detail: z.string() })),
});
export type ChaosRun = z.infer<typeof runSchema> & { label: string };

/** The first ratio in a p95 row's detail ("…: 1.85×", "1.48× at worst: …"). */
export function ratioOf(detail: string): number | null {
  const match = /(\d+(?:\.\d+)?)×/.exec(detail);
  return match ? Number(match[1]) : null;
}

export function chaosChart(runs: readonly ChaosRun[], target: number): string {
  return barChart({
    title: "p95 under faults ÷ baseline p95, by fault rate",
    unit: "× baseline p95",
    scale: "log",
    groups: runs.map((run) => ({
      label: run.label,
      target,
      bars: SERIES.flatMap(([id, series]) => {
        const row = run.results.find((result) => result.id === id);
        const value = row ? ratioOf(row.detail) : null;
        return value === null ? [] : [{ series, value }];
      }),
    })),
  });
}

function main(argv: readonly string[]) {
  const at = argv.indexOf("--out");
  const out = at >= 0 ? argv[at + 1] : undefined;
  const files = argv.filter((_, i) => i !== at && i !== at + 1);
  if (!out || files.length === 0) {
    throw new Error("usage: tsx bench/chaos/chart.ts --out chart.svg results.json=label …");
  }
  const runs = files.map((file) => {
    const [path, label] = file.split("=", 2) as [string, string | undefined];
    return { ...runSchema.parse(JSON.parse(readFileSync(path, "utf8"))), label: label ?? path };
  });
  writeFileSync(out, chaosChart(runs, 1.5));
  console.log(`wrote ${out}`);
}

if (process.argv[1]?.endsWith("chart.ts")) main(process.argv.slice(2));
