/**
 * The load run (issue 13): the whole stack under steady load for a bounded
 * time, on loopback, and whether its memory stays flat. The production build
 * (`next start`), the embedded executor and the demo model run as their own
 * processes, the SMTP sink in this one, all on the benchmark's embedded
 * PostgreSQL. Meanwhile, and continuously (each client starts again as it
 * ends): 200 chat streams through POST /api/chat, 50 jobs (research and
 * summarize, half each) through tRPC's `jobs.create`, and 500 job-page
 * subscribers on `jobs.events` over SSE, spread over the running jobs.
 *
 * Figures: errors by kind (every one counts: an HTTP error, a broken or
 * failed stream, a dropped subscriber, a job that did not complete), chat
 * time to first token, job duration (row created → finished), the lag of
 * live job events to their subscribers (event row's timestamp → arrival),
 * and the resident memory of the app and the executor every few seconds.
 * Verdict: no error, and RSS after warm-up (the first two minutes) flat: the
 * mean of the last 30 s within 10 % of the mean of the 30 s after warm-up,
 * for both processes.
 *
 *   npm run bench -- load [--duration 300] [--warmup 120] [--chats 200] [--jobs 50]
 *     [--subscribers 500] [--ttft-ms 300] [--tps 40] [--sample-seconds 5]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import path from "node:path";
import { z } from "zod";
import { startSmtpSink } from "@/lib/email/sink";
import { importCorpus } from "@/scripts/lib/corpus";
import { demoCorpusSources } from "@/scripts/lib/demo-corpus";
import { spawnDemoModel } from "./demo-model-direct";
import { ownerCookie, spawnExecutor, startApp } from "./lib/app-server";
import { timeSeriesChart } from "./lib/chart";
import { freePort, processCpuMs, treeRssBytes } from "./lib/process";
import { percentiles, type Percentiles } from "./lib/stats";
import {
  chatLoop,
  jobLoop,
  JobTracker,
  LoadMetrics,
  subscriberLoop,
  summarizeTexts,
  type LoadContext,
} from "./load-workload";

const optionsSchema = z
  .object({
    duration: z.coerce.number().int().min(10).default(300),
    warmup: z.coerce.number().int().min(1).optional(),
    chats: z.coerce.number().int().min(0).default(200),
    jobs: z.coerce.number().int().min(1).default(50),
    subscribers: z.coerce.number().int().min(0).default(500),
    "ttft-ms": z.coerce.number().int().min(0).default(300),
    tps: z.coerce.number().min(0).default(40),
    "sample-seconds": z.coerce.number().min(1).default(5),
  })
  .transform((options) => ({
    ...options,
    // NOTE: two minutes of the default run (two fifths of a shorter one): under
    // this load a job takes up to ~80 s, so only after the first jobs have
    // ended and been replaced are all three workloads at their steady state
    // (until then the executor holds ever more runs, and the app's pools and
    // heap grow to their working size).
    warmup: options.warmup ?? Math.min(120, Math.round((options.duration * 2) / 5)),
  }));
export type LoadOptions = z.infer<typeof optionsSchema>;

/** `--name value` pairs from the command line (bench/run.ts passes them through). */
export function loadOptions(argv: readonly string[]): LoadOptions {
  const pairs: Record<string, string> = {};
  argv.forEach((arg, i) => {
    if (arg.startsWith("--") && argv[i + 1] !== undefined) pairs[arg.slice(2)] = argv[i + 1]!;
  });
  return optionsSchema.parse(pairs);
}

interface Sample {
  /** Seconds since the load started. */
  t: number;
  appRssMiB: number | null;
  executorRssMiB: number | null;
  modelRssMiB: number | null;
  chatsCompleted: number;
  jobsCompleted: number;
  eventsDelivered: number;
  load1: number;
  /** CPU time each process used since the last sample, in % of one core. */
  cpuPercent: { app: number | null; executor: number | null; model: number | null; client: number };
  /** This process's event loop delay p99 since the last sample: its own lateness is in every figure. */
  clientLoopDelayP99Ms: number;
}

interface RssVerdict {
  /** Mean over the window right after warm-up, and over the last window, MiB. */
  afterWarmupMiB: number;
  endMiB: number;
  growthPercent: number;
  flat: boolean;
}

const mib = (bytes: number | null) => (bytes === null ? null : Math.round(bytes / 2 ** 17) / 8);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function rssVerdict(
  samples: readonly Sample[],
  key: "appRssMiB" | "executorRssMiB",
  options: LoadOptions,
): RssVerdict {
  const window = Math.min(30, (options.duration - options.warmup) / 4);
  const mean = (from: number, to: number) => {
    const values = samples
      .filter((s) => s.t >= from && s.t <= to && s[key] !== null)
      .map((s) => s[key]!);
    return values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1);
  };
  const afterWarmupMiB = mean(options.warmup, options.warmup + window);
  const endMiB = mean(options.duration - window, options.duration);
  const growthPercent = Math.round((endMiB / afterWarmupMiB - 1) * 1000) / 10;
  return {
    afterWarmupMiB: Math.round(afterWarmupMiB),
    endMiB: Math.round(endMiB),
    growthPercent,
    flat: growthPercent <= 10,
  };
}

export async function run(options: LoadOptions = loadOptions([])) {
  const model = await spawnDemoModel({ ttftMs: options["ttft-ms"], tokensPerSecond: options.tps });
  const executorPort = await freePort();
  const smtpPort = await freePort();
  const app = await startApp(
    {
      AI_PROVIDER: "demo",
      DEMO_MODEL_URL: model.url,
      INNGEST_DEV: `http://127.0.0.1:${executorPort}`,
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      MAIL_FROM: "Dispatch load <load@localhost>",
      CHAT_RATE_LIMIT_PER_MINUTE: "1000000",
    },
    // NOTE: idle connections outlive the clients' (4 s), as behind a proxy in
    // production: with Node's 5 s default, a request sent on a kept-alive
    // socket as the server closes it is reset (HTTP/1.1's keep-alive race,
    // which browsers hide by sending it again).
    { nextArgs: ["--keepAliveTimeout", "65000"] },
  );
  const sink = await startSmtpSink({ port: smtpPort, databaseUrl: app.databaseUrl, keep: 100 });
  const executor = await spawnExecutor({
    port: executorPort,
    databaseUrl: app.databaseUrl,
    appUrl: app.url,
  });
  const stop = new AbortController();
  const metrics = new LoadMetrics();
  const samples: Sample[] = [];
  let started = performance.now();
  const context: LoadContext = {
    appUrl: app.url,
    metrics,
    signal: stop.signal,
    now: () => performance.now() - started,
  };
  const tracker = new JobTracker(app.databaseUrl, context);
  const load = { before: loadavg()[0]!, max: 0, after: NaN };
  try {
    // Research searches the shared corpus: the AI SDK's documentation, as `npm run dev` imports it.
    const corpus = demoCorpusSources().find((source) => source.name === "ai-sdk-docs")!;
    await importCorpus(corpus.dir, {
      databaseUrl: app.databaseUrl,
      name: corpus.name,
      urlFor: corpus.urlFor,
      log: () => {},
    });
    const texts = summarizeTexts();
    const chatCookies = await Promise.all(
      Array.from({ length: options.chats }, () => ownerCookie(app.url)),
    );
    const jobCookies = await Promise.all(
      Array.from({ length: options.jobs }, () => ownerCookie(app.url)),
    );
    console.log(
      `load: ${options.chats} chat streams, ${options.jobs} jobs, ${options.subscribers} subscribers for ${options.duration} s (warm-up ${options.warmup} s; demo model ${options["ttft-ms"]} ms, ${options.tps} tok/s)`,
    );
    started = performance.now();
    tracker.start(500);
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const cpuMeter = () => ({
      at: performance.now(),
      app: processCpuMs(app.pid),
      executor: processCpuMs(executor.pid),
      model: processCpuMs(model.pid),
      client: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
    });
    let lastCpu = cpuMeter();
    const sample = () => {
      const load1 = loadavg()[0]!;
      load.max = Math.max(load.max, load1);
      const cpu = cpuMeter();
      const percent = (key: "app" | "executor" | "model" | "client") => {
        const [now, before] = [cpu[key], lastCpu[key]];
        if (now === null || before === null || cpu.at === lastCpu.at) return null;
        return Math.round(((now - before) / (cpu.at - lastCpu.at)) * 100);
      };
      const cpuPercent = {
        app: percent("app"),
        executor: percent("executor"),
        model: percent("model"),
        client: percent("client") ?? 0,
      };
      lastCpu = cpu;
      const clientLoopDelayP99Ms = Math.round(loopDelay.percentile(99) / 1e6);
      loopDelay.reset();
      samples.push({
        cpuPercent,
        clientLoopDelayP99Ms,
        t: Math.round(context.now() / 100) / 10,
        appRssMiB: mib(treeRssBytes(app.pid)),
        executorRssMiB: mib(treeRssBytes(executor.pid)),
        modelRssMiB: mib(treeRssBytes(model.pid)),
        chatsCompleted: metrics.chatsCompleted,
        jobsCompleted: metrics.jobsCompleted,
        eventsDelivered: metrics.eventsDelivered,
        load1,
      });
    };
    sample();
    const sampler = setInterval(sample, options["sample-seconds"] * 1000);
    const progress = setInterval(() => {
      const errors = [...metrics.errors.values()].reduce((sum, e) => sum + e.count, 0);
      const last = samples.at(-1)!;
      console.log(
        `  ${last.t.toFixed(0)} s: ${metrics.chatsCompleted} chats, ${metrics.jobsCompleted}/${metrics.jobsSubmitted} jobs, ${metrics.eventsDelivered} events delivered, ${errors} errors; RSS app ${last.appRssMiB} MiB, executor ${last.executorRssMiB} MiB; load ${last.load1.toFixed(1)}`,
      );
    }, 30_000);
    const clients = [
      ...chatCookies.map((cookie, i) => chatLoop(context, cookie, i)),
      ...jobCookies.map((cookie, slot) => jobLoop(context, tracker, cookie, slot, texts)),
      ...Array.from({ length: options.subscribers }, () => subscriberLoop(context, tracker)),
    ];
    await pause(options.duration * 1000);
    sample();
    clearInterval(sampler);
    clearInterval(progress);
    stop.abort();
    // Chat turns under way finish (bounded); subscribers close; jobs in flight are left.
    await Promise.race([Promise.all(clients), pause(60_000)]);
    load.after = loadavg()[0]!;
  } finally {
    stop.abort();
    await tracker.stop();
    // The sink last: a step of the app's may be sending mail until the app is gone.
    await executor.stop();
    await app.stop();
    await sink.stop();
    await model.stop();
  }
  return report(options, metrics, samples, load, tracker);
}

function report(
  options: LoadOptions,
  metrics: LoadMetrics,
  samples: Sample[],
  load: { before: number; max: number; after: number },
  tracker: JobTracker,
) {
  const steady = (values: Array<{ at: number; ms: number }>): Percentiles =>
    percentiles(values.filter((v) => v.at >= options.warmup * 1000).map((v) => v.ms));
  const errors = Object.fromEntries(metrics.errors);
  const errorCount = [...metrics.errors.values()].reduce((sum, e) => sum + e.count, 0);
  const rss = {
    app: rssVerdict(samples, "appRssMiB", options),
    executor: rssVerdict(samples, "executorRssMiB", options),
  };
  const steadySamples = samples.filter((s) => s.t > options.warmup);
  const meanOf = (values: Array<number | null>) => {
    const known = values.filter((v): v is number => v !== null);
    return Math.round(known.reduce((a, b) => a + b, 0) / Math.max(known.length, 1));
  };
  const cpuPercentAfterWarmup = {
    app: meanOf(steadySamples.map((s) => s.cpuPercent.app)),
    executor: meanOf(steadySamples.map((s) => s.cpuPercent.executor)),
    model: meanOf(steadySamples.map((s) => s.cpuPercent.model)),
    client: meanOf(steadySamples.map((s) => s.cpuPercent.client)),
  };
  const clientLoopDelayP99Ms = Math.max(0, ...steadySamples.map((s) => s.clientLoopDelayP99Ms));
  const results = {
    options,
    /** Mean CPU of each process after warm-up, % of one core (the machine has two). */
    cpuPercentAfterWarmup,
    /** The worst event loop delay p99 of this (the client) process in a sample interval after warm-up. */
    clientLoopDelayP99Ms,
    load,
    errors,
    errorCount,
    totals: {
      chatsCompleted: metrics.chatsCompleted,
      jobsSubmitted: metrics.jobsSubmitted,
      jobsCompleted: metrics.jobsCompleted,
      jobsInFlightAtEnd: [...tracker.jobs.values()].filter((job) => job.finalSince === undefined)
        .length,
      subscriptions: metrics.subscriptions,
      eventsDelivered: metrics.eventsDelivered,
    },
    /** After warm-up. */
    chatTtftMs: steady(metrics.chatTtftMs),
    chatHeadersMs: steady(metrics.chatHeadersMs),
    jobDurationMs: steady(metrics.jobDurationMs),
    eventLagMs: steady(metrics.eventLagMs),
    rss,
    verdict: { noErrors: errorCount === 0, rssFlat: rss.app.flat && rss.executor.flat },
    samples,
    at: new Date().toISOString(),
  };
  const passed = results.verdict.noErrors && results.verdict.rssFlat;
  const ms = (p: Percentiles) => `p50 ${p.p50} / p95 ${p.p95} / p99 ${p.p99} ms (n ${p.n})`;
  console.log(
    [
      `\nLoad run, ${options.duration} s (warm-up ${options.warmup} s), load average ${load.before.toFixed(1)} → max ${load.max.toFixed(1)} → ${load.after.toFixed(1)}`,
      `errors: ${errorCount}${errorCount ? ` ${JSON.stringify(errors, null, 2)}` : ""}`,
      `chats completed ${metrics.chatsCompleted}; jobs completed ${metrics.jobsCompleted} of ${metrics.jobsSubmitted} submitted; ${metrics.subscriptions} subscriptions, ${metrics.eventsDelivered} events delivered`,
      `chat TTFT        ${ms(results.chatTtftMs)}`,
      `chat headers     ${ms(results.chatHeadersMs)}`,
      `job duration     ${ms(results.jobDurationMs)}`,
      `event lag        ${ms(results.eventLagMs)}`,
      `CPU after warm-up (% of one core): app ${cpuPercentAfterWarmup.app}, executor ${cpuPercentAfterWarmup.executor}, demo model ${cpuPercentAfterWarmup.model}, this client ${cpuPercentAfterWarmup.client} (its event loop delay p99 ≤ ${clientLoopDelayP99Ms} ms)`,
      `RSS app          ${rss.app.afterWarmupMiB} → ${rss.app.endMiB} MiB (${rss.app.growthPercent} %)`,
      `RSS executor     ${rss.executor.afterWarmupMiB} → ${rss.executor.endMiB} MiB (${rss.executor.growthPercent} %)`,
      `verdict: ${passed ? "PASS" : "FAIL"} (errors 0: ${results.verdict.noErrors}; RSS growth ≤ 10 %: ${results.verdict.rssFlat})`,
    ].join("\n"),
  );
  const dir = path.join(process.cwd(), "bench", "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "load.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(path.join(dir, "load.svg"), chart(options, samples, rss));
  if (!passed) process.exitCode = 1;
  return results;
}

/** RSS of both processes over time with the warm-up shaded; throughput per interval below. */
function chart(options: LoadOptions, samples: Sample[], rss: Record<string, RssVerdict>) {
  const line = (key: "appRssMiB" | "executorRssMiB") =>
    samples.filter((s) => s[key] !== null).map((s): [number, number] => [s.t, s[key]!]);
  const rate = (key: "chatsCompleted" | "jobsCompleted" | "eventsDelivered", per: number) =>
    samples
      .slice(1)
      .map((s, i): [number, number] => [
        s.t,
        ((s[key] - samples[i]![key]) * per) / Math.max(s.t - samples[i]!.t, 0.001),
      ]);
  return timeSeriesChart({
    title: `Load run: RSS growth after warm-up app ${rss.app!.growthPercent} %, executor ${rss.executor!.growthPercent} %`,
    xUnit: "seconds",
    shade: { from: 0, to: options.warmup, label: "warm-up" },
    panels: [
      {
        unit: "RSS, MiB",
        series: [
          { name: "app RSS", points: line("appRssMiB") },
          { name: "executor RSS", points: line("executorRssMiB") },
        ],
      },
      {
        unit: "per second",
        series: [
          { name: "chats completed /s", points: rate("chatsCompleted", 1) },
          { name: "job events delivered /s", points: rate("eventsDelivered", 1) },
          { name: "jobs completed /min", points: rate("jobsCompleted", 60) },
        ],
      },
    ],
  });
}
