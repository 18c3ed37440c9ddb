/**
 * `npm run chaos`: runs summarize and research jobs and chat turns through
 * the app's HTTP APIs, first without faults (the baseline), then while
 * injecting a seeded schedule of faults (processes killed, connections
 * terminated, PostgreSQL restarted, the mail server refusing or dropping,
 * model errors and broken streams), waits for the system to settle (bounded)
 * and checks in SQL that no work was lost or duplicated (invariants.ts).
 * Prints the invariant table; exits non-zero on any violation.
 *
 *   npm run chaos -- --seed 7 --jobs 200 --chats 50 --faults 40
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import path from "node:path";
import { FAULT_KINDS, parseChaosArgs, type ChaosOptions } from "./args";
import { injectFault, planFaults, type InjectedFault, type PlannedFault } from "./faults";
import {
  checkInvariants,
  EMAILED_OUTCOME,
  formatTable,
  STALE_STREAM_SECONDS,
  type InvariantRow,
  type Outage,
} from "./invariants";
import { installCleanup } from "./processes";
import { seededRandom, type Random } from "./random";
import { ChaosStack } from "./stack";
import {
  CHAT_PROMPTS,
  corpusDocuments,
  Owners,
  planWorkload,
  runChat,
  submitJob,
  type ChatOutcome,
  type JobOutcome,
  type Phase,
} from "./workload";

const log = (line: string) => console.log(`[chaos] ${line}`);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const load = () =>
  loadavg()
    .map((value) => value.toFixed(1))
    .join(" ");

async function seedCorpus(stack: ChaosStack, random: Random) {
  for (const document of corpusDocuments(random)) {
    await stack.pool.query(
      `INSERT INTO documents (owner_id, title, text, mime, checksum, updated_at)
       VALUES (NULL, $1, $2, 'text/plain', $3, now())`,
      [document.title, document.text, createHash("sha256").update(document.text).digest("hex")],
    );
  }
}

interface PhaseResult {
  phase: Phase;
  /** Date.now() when the phase began: the faults' `startedMs` count from it. */
  startedAt: number;
  jobs: JobOutcome[];
  chats: ChatOutcome[];
  faults: InjectedFault[];
  settledMs: number | null;
  elapsedMs: number;
}

/** Counts of what is not settled yet; all zero once the run is quiescent. */
async function unsettled(stack: ChaosStack) {
  const { rows } = await stack.pool.query<{ jobs: number; emails: number; answers: number }>(
    `SELECT
       (SELECT count(*)::int FROM jobs WHERE status NOT IN ('completed', 'failed', 'cancelled')) AS jobs,
       (SELECT count(*)::int FROM jobs j WHERE ${EMAILED_OUTCOME}
           AND NOT EXISTS (SELECT 1 FROM notifications n JOIN mailbox_messages m ON m.message_id = n.message_id
                            WHERE n.job_id = j.id AND n.outcome = j.status::text AND n.status = 'sent')) AS emails,
       (SELECT count(*)::int FROM messages WHERE role = 'assistant' AND status = 'streaming'
           AND updated_at >= now() - make_interval(secs => $1)) AS answers`,
    [STALE_STREAM_SECONDS],
  );
  return rows[0]!;
}

async function waitForQuiescence(stack: ChaosStack, timeoutMs: number): Promise<number | null> {
  const started = Date.now();
  let last = "";
  while (Date.now() - started < timeoutMs) {
    const state = await unsettled(stack).catch(() => null);
    if (state && state.jobs === 0 && state.emails === 0 && state.answers === 0)
      return Date.now() - started;
    const now = state
      ? `${state.jobs} jobs running, ${state.emails} emails pending, ${state.answers} answers streaming`
      : "database unreachable";
    if (now !== last) log(`waiting: ${now}`);
    last = now;
    await pause(1_000);
  }
  return null;
}

async function runPhase(
  stack: ChaosStack,
  options: ChaosOptions,
  random: Random,
  phase: Phase,
  plan: { jobs: number; chats: number; windowMs: number; faults: PlannedFault[] },
): Promise<PhaseResult> {
  const { windowMs, faults: planned } = plan;
  const workload = planWorkload(random.fork("workload"), {
    phase,
    jobs: plan.jobs,
    chats: plan.chats,
    windowMs,
    modelFaults: options.modelFaults,
  });
  const started = Date.now();
  const deadline = started + windowMs + options.timeout * 1000;
  const owners = new Owners(stack.appUrl, deadline);
  const lastAnswer = async (conversationId: string) =>
    (
      await stack.pool
        .query<{ status: string }>(
          `SELECT status::text FROM messages WHERE conversation_id = $1 AND role = 'assistant'
            ORDER BY position DESC LIMIT 1`,
          [conversationId],
        )
        .catch(() => ({ rows: [] }))
    ).rows[0] ?? null;
  const at = async <T>(ms: number, run: () => Promise<T>) => {
    await pause(Math.max(0, started + ms - Date.now()));
    return run();
  };
  const faults: InjectedFault[] = [];
  const faultRun = (async () => {
    for (const fault of planned) {
      await pause(Math.max(0, started + fault.atMs - Date.now()));
      const startedMs = Date.now() - started;
      const effect = await injectFault(stack, fault).catch(
        (error: Error) => `injection failed: ${error.message}`,
      );
      const injected = { ...fault, startedMs, tookMs: Date.now() - started - startedMs, effect };
      faults.push(injected);
      log(
        `fault ${faults.length}/${planned.length} at ${(startedMs / 1000).toFixed(1)} s: ${fault.kind}: ${effect}`,
      );
    }
  })();
  const [jobs, chats] = await Promise.all([
    Promise.all(
      workload.jobs.map((spec) =>
        at(spec.startAtMs, () => submitJob(stack.appUrl, owners, spec, deadline)),
      ),
    ),
    Promise.all(
      workload.chats.map((spec) =>
        at(spec.startAtMs, () => runChat(stack.appUrl, owners, spec, deadline, lastAnswer)),
      ),
    ),
    faultRun,
  ]);
  log(
    `${phase}: ${jobs.filter((job) => job.id).length} jobs submitted, ${chats.length} chats done; settling`,
  );
  const settledMs = await waitForQuiescence(
    stack,
    Math.max(0, deadline - Date.now()) + STALE_STREAM_SECONDS * 1000,
  );
  return {
    phase,
    startedAt: started,
    jobs,
    chats,
    faults,
    settledMs,
    elapsedMs: Date.now() - started,
  };
}

/** Faults that take a process or the database down, from injection until it serves again. */
const OUTAGE_KINDS = new Set(["app-kill", "executor-kill", "pg-restart"]);

function outagesOf(phase: PhaseResult): Outage[] {
  return phase.faults
    .filter((fault) => OUTAGE_KINDS.has(fault.kind))
    .map((fault) => ({
      kind: fault.kind,
      from: new Date(phase.startedAt + fault.startedMs),
      to: new Date(phase.startedAt + fault.startedMs + fault.tookMs),
    }));
}

function clientRows(stack: ChaosStack, phases: PhaseResult[]): InvariantRow[] {
  const failedCreates = phases.flatMap((phase) => phase.jobs.filter((job) => !job.id));
  const unsettledPhases = phases.filter((phase) => phase.settledMs === null);
  return [
    {
      id: "submitted",
      name: "every job submitted",
      checked: `${phases.reduce((n, phase) => n + phase.jobs.length, 0)} jobs.create`,
      violations: failedCreates.length,
      result: failedCreates.length ? "FAIL" : "pass",
      detail: `${phases.reduce((n, phase) => n + phase.jobs.filter((job) => job.attempts > 1).length, 0)} needed a retry`,
      samples: failedCreates
        .slice(0, 5)
        .map((job) => ({ index: job.spec.index, error: job.error })),
    },
    {
      id: "settled",
      name: "settled within the bound",
      checked: phases.map((phase) => phase.phase).join(", "),
      violations: unsettledPhases.length,
      result: unsettledPhases.length ? "FAIL" : "pass",
      detail: phases
        .map(
          (phase) =>
            `${phase.phase} ${phase.settledMs === null ? "timed out" : `${(phase.settledMs / 1000).toFixed(0)} s`}`,
        )
        .join(", "),
      samples: [],
    },
    {
      id: "no-crash",
      name: "no process died unasked",
      checked: "app, executor",
      violations: stack.unexpectedExits.length,
      result: stack.unexpectedExits.length ? "FAIL" : "pass",
      detail: stack.unexpectedExits.join("; "),
      samples: [],
    },
  ];
}

async function main() {
  const options = parseChaosArgs(process.argv.slice(2));
  let stack: ChaosStack | undefined;
  installCleanup(async () => {
    await stack?.stop();
  });
  const random = seededRandom(options.seed);
  const began = Date.now();
  const loadAtStart = load();
  log(
    `seed ${options.seed}, ${options.jobs} jobs, ${options.chats} chats, ${options.faults} faults (${options.kinds.join(", ")}) about every ${options.intervalMs / 1000} s, model at ${options.modelTtftMs} ms to first token and ${options.modelTps} tokens/s${options.replicas > 1 ? `, ${options.replicas} replicas of the app and the executor` : ""}; load average ${loadAtStart}`,
  );
  stack = await ChaosStack.start({
    verbose: options.verbose,
    replicas: options.replicas,
    model: { ttftMs: options.modelTtftMs, tokensPerSecond: options.modelTps },
    log,
  });
  await seedCorpus(stack, random.fork("corpus"));
  log(
    `stack up: app ${stack.appUrl}, executor ${stack.executorUrl}, model ${stack.model.url}, smtp ${stack.smtp.url}`,
  );

  const planned = planFaults(random.fork("faults"), {
    count: options.faults,
    kinds: options.kinds,
    intervalMs: options.intervalMs,
  });
  // The workload is spread over the fault window, so faults meet work in flight.
  const windowMs = Math.max(4_000, planned.at(-1)?.atMs ?? 0);
  const phases: PhaseResult[] = [];
  const baselineJobs = options.baselineJobs;
  if (baselineJobs > 0 || options.chats > 0) {
    // The baseline runs jobs and chats at the chaos phase's rates, so that the p95 comparison
    // differs in the faults alone, and asks every chat prompt: the reference answers the
    // invariants compare with.
    const share = baselineJobs / options.jobs;
    const baseline = await runPhase(stack, options, random, "baseline", {
      jobs: baselineJobs,
      chats: options.chats > 0 ? Math.max(CHAT_PROMPTS, Math.round(options.chats * share)) : 0,
      windowMs: Math.max(4_000, Math.round(windowMs * share)),
      faults: [],
    });
    phases.push(baseline);
    log(`baseline done in ${(baseline.elapsedMs / 1000).toFixed(0)} s`);
  }
  const chaos = await runPhase(stack, options, random, "chaos", {
    jobs: options.jobs,
    chats: options.chats,
    windowMs,
    faults: planned,
  });
  phases.push(chaos);
  log(`chaos phase done in ${(chaos.elapsedMs / 1000).toFixed(0)} s; checking invariants`);

  const ids = (phase: Phase) =>
    phases
      .filter((p) => p.phase === phase)
      .flatMap((p) => p.jobs.flatMap((job) => (job.id ? [job.id] : [])));
  const results = [
    ...(await checkInvariants(stack.pool, {
      conversationIds: phases.flatMap((phase) => phase.chats.map((chat) => chat.conversationId)),
      baselineJobIds: ids("baseline"),
      chaosJobIds: ids("chaos"),
      p95Target: options.p95Target,
      p95MinJobs: options.p95MinJobs,
      outages: outagesOf(chaos),
      modelFaultJobIds: chaos.jobs.flatMap((job) =>
        job.id && job.spec.modelFault ? [job.id] : [],
      ),
    })),
    ...clientRows(stack, phases),
  ].map((result) =>
    result.result === "FAIL" && options.tolerate.includes(result.id)
      ? { ...result, result: "tolerated" as const }
      : result,
  );
  const model = stack.model.stats();
  const smtp = stack.smtp.stats();
  const connections = await stack.connectionCounts().catch(() => ({}));
  const loadAtEnd = load();
  const summary = {
    seed: options.seed,
    replicas: options.replicas,
    jobs: options.jobs,
    baselineJobs,
    chats: options.chats,
    faultKinds: options.kinds,
    intervalMs: options.intervalMs,
    modelPace: { ttftMs: options.modelTtftMs, tokensPerSecond: options.modelTps },
    loadAverage: { start: loadAtStart, end: loadAtEnd },
    durationSeconds: Math.round((Date.now() - began) / 1000),
    /** When the chaos phase began: each fault's `startedMs` counts from here. */
    chaosStartedAt: new Date(chaos.startedAt).toISOString(),
    faults: chaos.faults,
    model: model.outcomes,
    smtp,
    connections,
    results,
  };

  console.log();
  console.log(formatTable(results));
  console.log();
  const byKind = FAULT_KINDS.map(
    (kind) => `${kind} ${chaos.faults.filter((fault) => fault.kind === kind).length}`,
  );
  console.log(`faults injected: ${byKind.join(", ")}`);
  console.log(
    `model requests: ${Object.entries(model.outcomes)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
  );
  const chatRequests = new Map<string, number>();
  for (const chat of phases.flatMap((phase) => phase.chats))
    for (const request of chat.requests) {
      const key = request.startsWith("error") ? "connection lost mid-stream" : `HTTP ${request}`;
      chatRequests.set(key, (chatRequests.get(key) ?? 0) + 1);
    }
  console.log(
    `chat requests: ${[...chatRequests].map(([key, n]) => `${key} ${n}`).join(", ")}; ${phases.reduce((n, phase) => n + phase.chats.filter((chat) => chat.stopped).length, 0)} stopped`,
  );
  console.log(`smtp: ${smtp.connections} connections, ${smtp.dropped} dropped by the proxy`);
  console.log(
    `load average: ${loadAtStart} at start, ${loadAtEnd} at the end; ${summary.durationSeconds} s`,
  );
  for (const failed of results.filter((r) => r.result === "FAIL" || r.result === "tolerated")) {
    console.log(`\n${failed.result === "FAIL" ? "FAIL" : "FAIL (tolerated)"} ${failed.name}:`);
    for (const sample of failed.samples) console.log(`  ${JSON.stringify(sample)}`);
  }
  if (options.out) {
    mkdirSync(path.dirname(path.resolve(options.out)), { recursive: true });
    writeFileSync(options.out, JSON.stringify(summary, null, 2) + "\n");
  }
  const violations = results.reduce((n, result) => n + (result.result === "FAIL" ? 1 : 0), 0);
  console.log(
    violations
      ? `\n${violations} invariant(s) violated (seed ${options.seed})`
      : "\nall invariants hold",
  );
  await stack.stop();
  stack = undefined;
  process.exit(violations ? 1 : 0);
}

await main();
