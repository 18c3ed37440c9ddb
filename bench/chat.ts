/**
 * Chat benchmark: time to first token and tokens per second through our chat
 * route (browser → POST /api/chat → demo model) against the same demo model
 * called directly, at 1, 10 and 50 concurrent streams. The demo model, the
 * app (production build) and this client are separate processes; direct and
 * route rounds alternate so both see the same machine noise. Reports medians,
 * p99 and their ratios; targets: added TTFT ≤ 3 ms p50 and ≤ 10 ms p99 at 50
 * streams, throughput ≥ 0.98 × direct.
 *
 *   tsx bench/chat.ts [--ttft-ms 300] [--tps 40] [--concurrency 1,10,50] [--rounds 4]
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startApp } from "./lib/app-server";
import { barChart } from "./lib/chart";
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

async function ownerCookie(appUrl: string): Promise<string> {
  const response = await fetch(`${appUrl}/chat`);
  const cookie = response.headers.get("set-cookie");
  if (!cookie) throw new Error("the app set no owner cookie");
  return cookie.split(";")[0]!;
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
    body: JSON.stringify({
      action: "submit",
      conversationId: randomUUID(),
      message: {
        id: `b${randomUUID().slice(0, 12)}`,
        role: "user",
        parts: [{ type: "text", text: prompt }],
      },
      // As the browser sends it: the conversation so far (a new one here).
      history: [],
    }),
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
  /** Median of each of the route's phases before its stream started (Server-Timing), ms. */
  routePhasesP50: Record<string, number>;
  /** Route minus direct: the target's measure. */
  addedTtftP50: number;
  addedTtftP99: number;
  /** Passthrough minus direct: what any Next.js route costs here. */
  frameworkTtftP50: number;
  frameworkTtftP99: number;
  throughputRatio: number;
  /** CPU time of the app's process per stream (null where /proc cannot tell). */
  appCpuMsPerStream: { passthrough: number | null; route: number | null };
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
  const passthroughUrl = `${app.url}/api/bench/v1`;
  const rows: ChatBenchRow[] = [];
  try {
    const cookies = await Promise.all(
      Array.from({ length: Math.max(...levels) }, () => ownerCookie(app.url)),
    );
    const prompt = (i: number) => `Benchmark stream ${i}: how does streaming behave under load?`;
    // Warm up every path (JIT, connection pools, route compilation).
    for (let i = 0; i < 3; i++) {
      await measureStream(model.url, prompt(i));
      await measureStream(passthroughUrl, prompt(i));
      await measureRoute(app.url, cookies[0]!, prompt(i));
    }
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
      const appCpu = { passthrough: 0, route: 0 };
      /** Runs `measure` for every worker and adds the app's CPU time meanwhile to `appCpu[which]`. */
      const metered = async <S extends StreamSample>(
        which: keyof typeof appCpu,
        measure: (i: number) => Promise<S>,
        into: S[],
      ) => {
        const before = processCpuMs(app.pid);
        await measureAll(measure, into);
        const after = processCpuMs(app.pid);
        appCpu[which] = before === null || after === null ? NaN : appCpu[which] + after - before;
      };
      // Alternate the paths, twice each, so drift in machine load hits all of them.
      for (let half = 0; half < 2; half++) {
        await measureAll((i) => measureStream(model.url, prompt(i)), direct);
        await metered("passthrough", (i) => measureStream(passthroughUrl, prompt(i)), passthrough);
        await metered("route", (i) => measureRoute(app.url, cookies[i]!, prompt(i)), route);
      }
      const perStream = (ms: number, streams: number) =>
        Number.isFinite(ms) ? Math.round((ms / streams) * 10) / 10 : null;
      const d = figures(direct);
      const f = figures(passthrough);
      const r = figures(route);
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
        routePhasesP50,
        addedTtftP50: r.ttftP50 - d.ttftP50,
        addedTtftP99: r.ttftP99 - d.ttftP99,
        frameworkTtftP50: f.ttftP50 - d.ttftP50,
        frameworkTtftP99: f.ttftP99 - d.ttftP99,
        throughputRatio: r.charsPerSecondP50 / d.charsPerSecondP50,
        appCpuMsPerStream: {
          passthrough: perStream(appCpu.passthrough, passthrough.length),
          route: perStream(appCpu.route, route.length),
        },
        samples: direct.length,
      });
    }
  } finally {
    await app.stop();
    await model.stop();
  }

  console.log(
    `\nChat: demo model direct / bare Next.js passthrough / chat route (ttft ${pace.ttftMs} ms, ${pace.tokensPerSecond} tok/s)`,
  );
  console.log(
    [
      "streams (mode)".padStart(14),
      "TTFT p50 direct/next/route ms (+next, +route)".padEnd(48),
      "TTFT p99 direct/next/route ms (+next, +route)".padEnd(48),
      "chars/s p50 direct/route (ratio)".padEnd(34),
      "app CPU ms/stream next/route".padEnd(29),
      "route phases p50 ms",
    ].join("  "),
  );
  const ms = (value: number) => value.toFixed(1);
  for (const row of rows) {
    console.log(
      [
        `${row.concurrency} (${row.mode})`.padStart(14),
        `${ms(row.direct.ttftP50)}/${ms(row.passthrough.ttftP50)}/${ms(row.route.ttftP50)} (+${ms(row.frameworkTtftP50)}, +${ms(row.addedTtftP50)})`.padEnd(
          48,
        ),
        `${ms(row.direct.ttftP99)}/${ms(row.passthrough.ttftP99)}/${ms(row.route.ttftP99)} (+${ms(row.frameworkTtftP99)}, +${ms(row.addedTtftP99)})`.padEnd(
          48,
        ),
        `${ms(row.direct.charsPerSecondP50)}/${ms(row.route.charsPerSecondP50)} (${row.throughputRatio.toFixed(3)}×)`.padEnd(
          34,
        ),
        `${row.appCpuMsPerStream.passthrough ?? "?"}/${row.appCpuMsPerStream.route ?? "?"}`.padEnd(
          29,
        ),
        Object.entries(row.routePhasesP50)
          .map(([name, value]) => `${name} ${ms(value)}`)
          .join(", "),
      ].join("  "),
    );
  }
  const dir = path.join(process.cwd(), "bench", "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, "chat.json"),
    JSON.stringify({ pace, rounds, rows, at: new Date().toISOString() }, null, 2),
  );
  writeFileSync(
    path.join(dir, "chat.svg"),
    barChart({
      title: "Added time to first token vs. the model called directly",
      scale: "log",
      unit: "ms",
      groups: rows.flatMap((row) => [
        {
          label: `${row.concurrency} ${row.mode}`,
          bars: [
            { series: "bare Next.js route p50", value: row.frameworkTtftP50 },
            { series: "chat route p50", value: row.addedTtftP50 },
            { series: "bare Next.js route p99", value: row.frameworkTtftP99 },
            { series: "chat route p99", value: row.addedTtftP99 },
          ],
        },
      ]),
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
