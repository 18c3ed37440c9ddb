/**
 * Chat benchmark, every figure of issue 11 in one run: time to first token,
 * throughput and app CPU per stream and per token through our chat route
 * (POST /api/chat → demo model) against the demo model called directly and
 * against the bare Next.js route (/api/bench/v1) on the same runtime, at 1, 10
 * and 50 concurrent streams; (b) the same route with its event log off (a
 * second app, BENCH_CHAT_EVENT_LOG=off); (c) resume and follower lag
 * (bench/chat-resume.ts); (e) memory per follower and the log's rows and
 * bytes per answer. The demo model, the apps (production build) and this
 * client are separate processes; the paths alternate so all see the same
 * machine noise. Targets: (a) added TTFT ≤ 1 ms p50 over the bare route and
 * p99 ≤ 1.5× its p99 at 50 streams; (b) log on/off ≥ 0.98; (c) first
 * replayed event p95 ≤ 20 ms, lag p99 ≤ 10 ms; (d) CPU ≤ 1.5× the bare
 * route's; (e) ≤ 20 KB per follower.
 *
 *   tsx bench/chat.ts [--ttft-ms 300] [--tps 40] [--concurrency 1,10,50] [--rounds 4]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ownerCookie, startApp } from "./lib/app-server";
import { barChart } from "./lib/chart";
import {
  submitBody,
  measureFootprint,
  measureResume,
  type FootprintFigures,
  type ResumeFigures,
} from "./chat-resume";
import { contentTimer, processCpuMs, readServerSentEvents } from "./lib/process";
import {
  distribution,
  measureStream,
  spawnDemoModel,
  type StreamSample,
} from "./demo-model-direct";

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index !== -1 ? (process.argv[index + 1] ?? fallback) : fallback;
}

interface RouteSample extends StreamSample {
  /** The route's own phases before its stream started (its Server-Timing header). */
  phases: Record<string, number>;
}

function serverTiming(header: string | null): Record<string, number> {
  const phases: Record<string, number> = {};
  for (const entry of header?.split(",") ?? []) {
    const [name, ...params] = entry.trim().split(";");
    const dur = params.find((param) => param.startsWith("dur="));
    if (name && dur) phases[name] = Number(dur.slice(4));
  }
  return phases;
}

/** One chat turn through the route, timed at the client like a browser would see it. */
async function measureRoute(appUrl: string, cookie: string, prompt: string): Promise<RouteSample> {
  const started = performance.now();
  const response = await fetch(`${appUrl}/api/chat`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie },
    // As the browser sends it: a new conversation, with its (empty) history.
    body: submitBody(prompt),
  });
  if (!response.ok || !response.body)
    throw new Error(`chat route answered ${response.status}: ${await response.text()}`);
  const timer = contentTimer(started);
  await readServerSentEvents(response.body, (data) => {
    if (data.startsWith('{"type":"text-delta"'))
      timer.content((JSON.parse(data) as { delta: string }).delta);
  });
  return { ...timer.sample(), phases: serverTiming(response.headers.get("server-timing")) };
}

interface PathFigures {
  ttftP50: number;
  ttftP99: number;
  charsPerSecondP50: number;
}

export interface ChatBenchRow {
  concurrency: number;
  mode: "steady" | "burst";
  /** The demo model called directly. */
  direct: PathFigures;
  /** The least a Next.js route can do: forward to the demo model, return its body (/api/bench/v1). */
  passthrough: PathFigures;
  /** Our chat route, POST /api/chat. */
  route: PathFigures;
  /** The same route with its event log off (the baseline of (b)). */
  routeNoLog: PathFigures;
  /** Median of each of the route's phases before its stream started (Server-Timing), ms. */
  routePhasesP50: Record<string, number>;
  /** Route minus direct: the target's measure. */
  addedTtftP50: number;
  addedTtftP99: number;
  /** Passthrough minus direct: what any Next.js route costs here. */
  frameworkTtftP50: number;
  frameworkTtftP99: number;
  throughputRatio: number;
  /** (b): chars/s with the log on ÷ with it off. */
  logThroughputRatio: number;
  /** CPU time of the app's process per stream (null where /proc cannot tell). */
  appCpuMsPerStream: {
    passthrough: number | null;
    route: number | null;
    routeNoLog: number | null;
  };
  /** The same per model token, µs. */
  appCpuUsPerToken: {
    passthrough: number | null;
    route: number | null;
    routeNoLog: number | null;
  };
  samples: number;
}

function figures(samples: readonly StreamSample[]): PathFigures {
  const ttft = distribution(samples.map((s) => s.ttftMs));
  return {
    ttftP50: ttft.p50,
    ttftP99: ttft.p99,
    charsPerSecondP50: distribution(samples.map((s) => s.charsPerSecond)).p50,
  };
}

export async function run(
  options: { ttftMs?: number; tokensPerSecond?: number; levels?: number[]; rounds?: number } = {},
) {
  const pace = { ttftMs: options.ttftMs ?? 300, tokensPerSecond: options.tokensPerSecond ?? 40 };
  const levels = options.levels ?? [1, 10, 50];
  const rounds = options.rounds ?? 2;
  const model = await spawnDemoModel(pace);
  const app = await startApp({
    DEMO_MODEL_URL: model.url,
    AI_PROVIDER: "demo",
    CHAT_RATE_LIMIT_PER_MINUTE: "1000000",
    BENCH_PASSTHROUGH: "on",
  });
  const noLogApp = await startApp(
    {
      DEMO_MODEL_URL: model.url,
      AI_PROVIDER: "demo",
      CHAT_RATE_LIMIT_PER_MINUTE: "1000000",
      BENCH_CHAT_EVENT_LOG: "off",
    },
    { database: `dispatch_bench_${process.pid}_nolog` },
  );
  const passthroughUrl = `${app.url}/api/bench/v1`;
  const rows: ChatBenchRow[] = [];
  let resume: ResumeFigures | undefined;
  let footprint: FootprintFigures | undefined;
  const load = { before: loadavg()[0]!, after: NaN };
  try {
    const cookies = await Promise.all(
      Array.from({ length: Math.max(...levels) }, () => ownerCookie(app.url)),
    );
    const noLogCookies = await Promise.all(
      Array.from({ length: Math.max(...levels) }, () => ownerCookie(noLogApp.url)),
    );
    const prompt = (i: number) => `Benchmark stream ${i}: how does streaming behave under load?`;
    // Warm up every path (JIT, connection pools, route compilation).
    for (let i = 0; i < 3; i++) {
      await measureStream(model.url, prompt(i));
      await measureStream(passthroughUrl, prompt(i));
      await measureRoute(app.url, cookies[0]!, prompt(i));
      await measureRoute(noLogApp.url, noLogCookies[0]!, prompt(i));
    }
    // The model's tokens per answer: one content piece each, called directly.
    const tokensPerStream = Math.max(1, (await measureStream(model.url, prompt(0))).pieces);
    // Steady: `concurrency` streams always in flight, their starts spread over
    // one stream's length (how concurrent users arrive). Burst: all start at
    // the same instant, so every request's setup queues behind the others'.
    const plan = [
      ...levels.map((concurrency) => ({ concurrency, mode: "steady" as const })),
      { concurrency: Math.max(...levels), mode: "burst" as const },
    ];
    const streamMs = pace.ttftMs + (100 / Math.max(pace.tokensPerSecond, 1)) * 1000;
    for (const { concurrency, mode } of plan) {
      const direct: StreamSample[] = [];
      const passthrough: StreamSample[] = [];
      const route: RouteSample[] = [];
      const routeNoLog: RouteSample[] = [];
      const workers = Array.from({ length: concurrency }, (_, i) => i);
      // At least 20 samples per path, also for a single stream.
      const levelRounds = Math.max(rounds, Math.ceil(10 / concurrency));
      const measureAll = async <S extends StreamSample>(
        measure: (i: number) => Promise<S>,
        into: S[],
      ) => {
        if (mode === "burst") {
          for (let round = 0; round < levelRounds; round++)
            into.push(...(await Promise.all(workers.map(measure))));
          return;
        }
        await Promise.all(
          workers.map(async (i) => {
            await new Promise((resolve) => setTimeout(resolve, (i * streamMs) / concurrency));
            for (let round = 0; round < levelRounds; round++) into.push(await measure(i));
          }),
        );
      };
      const appCpu = { passthrough: 0, route: 0, routeNoLog: 0 };
      /** Runs `measure` for every worker and adds the app's CPU time meanwhile to `appCpu[which]`. */
      const metered = async <S extends StreamSample>(
        which: keyof typeof appCpu,
        measure: (i: number) => Promise<S>,
        into: S[],
      ) => {
        const pid = which === "routeNoLog" ? noLogApp.pid : app.pid;
        const before = processCpuMs(pid);
        await measureAll(measure, into);
        const after = processCpuMs(pid);
        appCpu[which] = before === null || after === null ? NaN : appCpu[which] + after - before;
      };
      // Alternate the paths, twice each, so drift in machine load hits all of them.
      for (let half = 0; half < 2; half++) {
        await measureAll((i) => measureStream(model.url, prompt(i)), direct);
        await metered("passthrough", (i) => measureStream(passthroughUrl, prompt(i)), passthrough);
        await metered("route", (i) => measureRoute(app.url, cookies[i]!, prompt(i)), route);
        await metered(
          "routeNoLog",
          (i) => measureRoute(noLogApp.url, noLogCookies[i]!, prompt(i)),
          routeNoLog,
        );
      }
      const perStream = (ms: number, streams: number) =>
        Number.isFinite(ms) ? Math.round((ms / streams) * 10) / 10 : null;
      const d = figures(direct);
      const f = figures(passthrough);
      const r = figures(route);
      const n = figures(routeNoLog);
      const perToken = (ms: number, streams: number) =>
        Number.isFinite(ms)
          ? Math.round(((ms * 1000) / streams / tokensPerStream) * 10) / 10
          : null;
      const phaseNames = [...new Set(route.flatMap((s) => Object.keys(s.phases)))];
      const routePhasesP50 = Object.fromEntries(
        phaseNames.map((name) => [
          name,
          distribution(route.map((s) => s.phases[name] ?? NaN).filter(Number.isFinite)).p50,
        ]),
      );
      rows.push({
        concurrency,
        mode,
        direct: d,
        passthrough: f,
        route: r,
        routeNoLog: n,
        routePhasesP50,
        addedTtftP50: r.ttftP50 - d.ttftP50,
        addedTtftP99: r.ttftP99 - d.ttftP99,
        frameworkTtftP50: f.ttftP50 - d.ttftP50,
        frameworkTtftP99: f.ttftP99 - d.ttftP99,
        throughputRatio: r.charsPerSecondP50 / d.charsPerSecondP50,
        logThroughputRatio: r.charsPerSecondP50 / n.charsPerSecondP50,
        appCpuMsPerStream: {
          passthrough: perStream(appCpu.passthrough, passthrough.length),
          route: perStream(appCpu.route, route.length),
          routeNoLog: perStream(appCpu.routeNoLog, routeNoLog.length),
        },
        appCpuUsPerToken: {
          passthrough: perToken(appCpu.passthrough, passthrough.length),
          route: perToken(appCpu.route, route.length),
          routeNoLog: perToken(appCpu.routeNoLog, routeNoLog.length),
        },
        samples: direct.length,
      });
    }
    // (c) at the highest level, each stream followed by 2 readers from its first token.
    resume = await measureResume({
      appUrl: app.url,
      cookies,
      streams: Math.max(...levels),
      followersPerStream: 2,
      prompt,
      streamMs: pace.ttftMs + (100 / Math.max(pace.tokensPerSecond, 1)) * 1000,
    });
    footprint = await measureFootprint({
      appUrl: app.url,
      appPid: app.pid,
      databaseUrl: app.databaseUrl,
      cookie: cookies[0]!,
      followers: 200,
    });
    load.after = loadavg()[0]!;
  } finally {
    await noLogApp.stop();
    await app.stop();
    await model.stop();
  }

  const ms = (value: number) => value.toFixed(1);
  console.log(
    `\nChat: demo model direct / bare Next.js route / chat route / chat route, log off (ttft ${pace.ttftMs} ms, ${pace.tokensPerSecond} tok/s; load average ${load.before.toFixed(1)} → ${load.after.toFixed(1)})`,
  );
  console.log(
    [
      "streams (mode)".padStart(14),
      "TTFT p50 direct/next/route ms (route−next)".padEnd(44),
      "TTFT p99 direct/next/route ms (route÷next)".padEnd(44),
      "TTFT p50/p99 no-log ms".padEnd(24),
      "chars/s p50 route/no-log (b)".padEnd(30),
      "CPU ms/stream next/route/no-log (d)".padEnd(36),
      "CPU µs/token next/route/no-log",
    ].join("  "),
  );
  for (const row of rows) {
    const cpu = row.appCpuMsPerStream;
    const token = row.appCpuUsPerToken;
    console.log(
      [
        `${row.concurrency} (${row.mode})`.padStart(14),
        `${ms(row.direct.ttftP50)}/${ms(row.passthrough.ttftP50)}/${ms(row.route.ttftP50)} (+${ms(row.route.ttftP50 - row.passthrough.ttftP50)})`.padEnd(
          44,
        ),
        `${ms(row.direct.ttftP99)}/${ms(row.passthrough.ttftP99)}/${ms(row.route.ttftP99)} (${(row.route.ttftP99 / row.passthrough.ttftP99).toFixed(2)}×)`.padEnd(
          44,
        ),
        `${ms(row.routeNoLog.ttftP50)}/${ms(row.routeNoLog.ttftP99)}`.padEnd(24),
        `${ms(row.route.charsPerSecondP50)}/${ms(row.routeNoLog.charsPerSecondP50)} (${row.logThroughputRatio.toFixed(3)}×)`.padEnd(
          30,
        ),
        `${cpu.passthrough ?? "?"}/${cpu.route ?? "?"}/${cpu.routeNoLog ?? "?"} (${cpu.route && cpu.passthrough ? (cpu.route / cpu.passthrough).toFixed(2) : "?"}×)`.padEnd(
          36,
        ),
        `${token.passthrough ?? "?"}/${token.route ?? "?"}/${token.routeNoLog ?? "?"}`,
      ].join("  "),
    );
  }
  if (resume) {
    console.log(
      `(c) resume, ${resume.streams} streams × ${resume.followersPerStream} followers: first replayed event p50 ${ms(resume.firstReplayedEventMs.p50)} / p95 ${ms(resume.firstReplayedEventMs.p95)} ms; follower lag p50 ${ms(resume.followerLagMs.p50)} / p99 ${ms(resume.followerLagMs.p99)} ms (${resume.followerLagMs.n} events); gaps or duplicates: ${resume.gapsOrDuplicates}`,
    );
  }
  if (footprint) {
    console.log(
      `(e) ${footprint.followers} followers: ${footprint.kbPerFollower ?? "?"} KB of app memory each (a bare Next.js streaming connection: ${footprint.kbPerBareConnection ?? "?"} KB); an answer's log: ${footprint.rowsPerAnswer} rows, ${footprint.bytesPerAnswer} bytes (for ${footprint.textBytesPerAnswer} bytes of text)`,
    );
  }
  const dir = path.join(process.cwd(), "bench", "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, "chat.json"),
    JSON.stringify(
      { pace, rounds, load, rows, resume, footprint, at: new Date().toISOString() },
      null,
      2,
    ),
  );
  const top = rows.find((row) => row.mode === "steady" && row.concurrency === Math.max(...levels));
  writeFileSync(
    path.join(dir, "chat.svg"),
    barChart({
      title: `Chat route vs. the bare Next.js route at ${top?.concurrency ?? "?"} streams (b: log on/off throughput ${top?.logThroughputRatio.toFixed(3) ?? "?"}×)`,
      scale: "log",
      unit: "ms",
      groups: [
        ...rows.map((row) => ({
          label: `(a) TTFT ${row.concurrency} ${row.mode}`,
          bars: [
            { series: "bare route p50", value: row.passthrough.ttftP50 },
            { series: "chat route p50", value: row.route.ttftP50 },
            { series: "bare route p99", value: row.passthrough.ttftP99 },
            { series: "chat route p99", value: row.route.ttftP99 },
          ],
        })),
        ...(resume
          ? [
              {
                label: "(c) resume, lag",
                bars: [
                  { series: "first replayed event p95", value: resume.firstReplayedEventMs.p95 },
                  { series: "follower lag p99", value: resume.followerLagMs.p99 },
                ],
                target: 20,
              },
            ]
          : []),
        ...rows.map((row) => ({
          label: `(d) CPU/stream ${row.concurrency} ${row.mode}`,
          bars: [
            { series: "bare route", value: row.appCpuMsPerStream.passthrough ?? 0 },
            { series: "chat route", value: row.appCpuMsPerStream.route ?? 0 },
            { series: "chat route, log off", value: row.appCpuMsPerStream.routeNoLog ?? 0 },
          ],
        })),
      ],
    }),
  );
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await run({
    ttftMs: Number(argument("ttft-ms", "300")),
    tokensPerSecond: Number(argument("tps", "40")),
    levels: argument("concurrency", "1,10,50").split(",").map(Number),
    rounds: Number(argument("rounds", "2")),
  });
}
