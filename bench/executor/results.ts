/**
 * The executor benchmark's results, options, targets and scenarios: what
 * bench/executor.ts measures, writes to bench/results/executor.json and
 * reports.
 */
import type { Percentiles } from "../lib/stats";

export type Mode = "checkpointing" | "call-per-step";

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

export const TARGETS = { eventToFirstStepP95Ms: 50, perStepOverheadMs: 10 };
/** The executor's default `workerConcurrency`: the SDK-alone throughput runs this many at once. */
export const EXECUTOR_WORKER_CAPACITY = 100;
export const FLOW_EVENTS = 1000;
export const FLOW_CASES = [
  { rule: "throttle", fnId: "throttled", setting: "limit 200 per 1s", keys: 1 },
  { rule: "debounce", fnId: "debounced", setting: "period 3s, 100 keys", keys: 100 },
] as const;
export const MODES: { mode: Mode; fnId: string }[] = [
  { mode: "checkpointing", fnId: "ten-checkpointed" },
  { mode: "call-per-step", fnId: "ten-per-call" },
];

/** value ÷ floor, to two decimals (1 = no cost above the floor). */
export function ratio(value: number, floor: number): number {
  return floor > 0 ? Math.round((value / floor) * 100) / 100 : NaN;
}
