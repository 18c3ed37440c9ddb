/** The executor benchmark's table (printed) and chart (bench/results/executor.svg). */
import { barChart } from "../lib/chart";
import { MODES, type ExecutorBenchResults, type Mode } from "./results";

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

export function chart(results: ExecutorBenchResults): string {
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
