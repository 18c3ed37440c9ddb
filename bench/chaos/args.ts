/**
 * The flags of `npm run chaos`, parsed and validated once.
 */
import { z } from "zod";
import { DEFAULT_TOKENS_PER_SECOND, DEFAULT_TTFT_MS } from "@/lib/ai/demo-model/server";

export const FAULT_KINDS = [
  "app-kill",
  "executor-kill",
  "pg-terminate-app",
  "pg-terminate-executor",
  "pg-restart",
  "smtp-refuse",
  "smtp-drop",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

const integer = (min: number) => z.coerce.number().int().min(min);

const optionsSchema = z.object({
  seed: integer(0).default(1),
  jobs: integer(1).default(8),
  /** Chat streams in the chaos phase; by default one for every 4 jobs (at least 8). */
  chats: integer(0).optional(),
  /**
   * Jobs in the fault-free baseline, run at the chaos phase's job rate; by default as many as
   * in the chaos phase, up to 300 (enough for its p95). 0 skips it (and the p95 comparison).
   */
  baselineJobs: integer(0).optional(),
  /**
   * Infrastructure faults in the chaos phase (model faults ride on the workload's text); by
   * default one for every 20 jobs (at least 10), so `--jobs 1000` alone is the full run.
   */
  faults: integer(0).optional(),
  kinds: z
    .string()
    .default(FAULT_KINDS.join(","))
    .transform((value, ctx) => {
      const kinds = value.split(",").map((kind) => kind.trim());
      const unknown = kinds.filter((kind) => !(FAULT_KINDS as readonly string[]).includes(kind));
      if (unknown.length) {
        ctx.addIssue({
          code: "custom",
          message: `unknown fault kind(s) ${unknown.join(", ")}; known: ${FAULT_KINDS.join(", ")}`,
        });
        return z.NEVER;
      }
      return kinds as FaultKind[];
    }),
  /**
   * Mean gap between two faults; the workload is spread over faults × interval. The default,
   * one every 30 s, is the rate the p95 target is stated for: the stack is down a few per cent
   * of the time. Denser schedules (`--interval-ms 3000`) stress correctness, and the p95 then
   * measures the outages themselves (README, Chaos).
   */
  intervalMs: integer(200).default(30_000),
  /**
   * Processes of the app and of the executor, each role behind a balancer when above 1:
   * a kill then takes down one replica, as in a deployment with more than one.
   */
  replicas: integer(1).max(4).default(1),
  /**
   * The demo model's pace: by default the one the app ships with (a hosted model's, roughly),
   * so a job's duration includes its model time as a user's would, and a fault's cost (a
   * provider's Retry-After, a restart) is weighed against a job, not against orchestration alone.
   */
  modelTtftMs: integer(0).default(DEFAULT_TTFT_MS),
  modelTps: integer(0).default(DEFAULT_TOKENS_PER_SECOND),
  /** Share of jobs and chats whose text carries a demo-model fault directive. */
  modelFaults: z.coerce.number().min(0).max(1).default(0.3),
  /** Bound on the wait for every job and answer to reach a final state, seconds. */
  timeout: integer(10).default(240),
  p95Target: z.coerce.number().positive().default(1.5),
  /** Below this many completed jobs per phase the p95 ratio is reported, not enforced. */
  p95MinJobs: integer(1).default(20),
  /**
   * Invariants (by id, e.g. `dispatch-failed`) whose violations are printed
   * but do not fail the run: for a known defect that is being fixed elsewhere.
   */
  tolerate: z
    .string()
    .default("")
    .transform((value) =>
      value
        .split(",")
        .map((id) => id.trim())
        .filter(Boolean),
    ),
  /** Where to write the results as JSON (nothing is written by default). */
  out: z.string().optional(),
  /** Print the stack's own logs (app, executor) instead of keeping them in the data dir. */
  verbose: z.boolean().default(false),
});
export type ChaosOptions = Omit<
  z.infer<typeof optionsSchema>,
  "chats" | "faults" | "baselineJobs"
> & {
  chats: number;
  faults: number;
  baselineJobs: number;
};

const USAGE = `usage: npm run chaos -- [--seed 1] [--jobs 8] [--chats jobs/4, ≥ 8] [--baseline-jobs jobs, ≤ 300]
       [--faults jobs/20, ≥ 10] [--kinds ${FAULT_KINDS.join(",")}] [--interval-ms 30000]
       [--replicas 1] [--model-ttft-ms ${DEFAULT_TTFT_MS}] [--model-tps ${DEFAULT_TOKENS_PER_SECOND}] [--model-faults 0.3] [--timeout 240] [--p95-target 1.5] [--p95-min-jobs 20]
       [--tolerate dispatch-failed,…] [--out results.json] [--verbose]`;

const camel = (flag: string) => flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

export function parseChaosArgs(argv: readonly string[]): ChaosOptions {
  const raw: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      process.exit(0);
    }
    if (!arg.startsWith("--")) throw new Error(`unexpected argument "${arg}"\n${USAGE}`);
    const [flag, inline] = arg.slice(2).split("=", 2) as [string, string | undefined];
    if (flag === "verbose") {
      raw.verbose = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`--${flag} needs a value\n${USAGE}`);
    raw[camel(flag)] = value;
  }
  const parsed = optionsSchema.strict().safeParse(raw);
  if (!parsed.success) throw new Error(`${z.prettifyError(parsed.error)}\n${USAGE}`);
  const { jobs } = parsed.data;
  return {
    ...parsed.data,
    chats: parsed.data.chats ?? Math.max(8, Math.round(jobs / 4)),
    faults: parsed.data.faults ?? Math.max(10, Math.round(jobs / 20)),
    baselineJobs: parsed.data.baselineJobs ?? Math.min(jobs, 300),
  };
}
