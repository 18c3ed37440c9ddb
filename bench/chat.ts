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
import { contentTimer, readServerSentEvents } from "./lib/process";
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

export interface ChatBenchRow {
  concurrency: number;
  mode: "steady" | "burst";
  direct: { ttftP50: number; ttftP99: number; charsPerSecondP50: number };
  route: { ttftP50: number; ttftP99: number; charsPerSecondP50: number };
  /** Median of each of the route's phases before its stream started (Server-Timing), ms. */
  routePhasesP50: Record<string, number>;
  addedTtftP50: number;
  addedTtftP99: number;
  throughputRatio: number;
  samples: number;
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
  });
  const rows: ChatBenchRow[] = [];
  try {
    const cookies = await Promise.all(
      Array.from({ length: Math.max(...levels) }, () => ownerCookie(app.url)),
    );
    const prompt = (i: number) => `Benchmark stream ${i}: how does streaming behave under load?`;
    // Warm up both paths (JIT, connection pools, route compilation).
    for (let i = 0; i < 3; i++) {
      await measureStream(model.url, prompt(i));
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
      // Alternate the two paths, twice each, so drift in machine load hits both.
      for (let half = 0; half < 2; half++) {
        await measureAll((i) => measureStream(model.url, prompt(i)), direct);
        await measureAll((i) => measureRoute(app.url, cookies[i]!, prompt(i)), route);
      }
      const d = distribution(direct.map((s) => s.ttftMs));
      const r = distribution(route.map((s) => s.ttftMs));
      const dTps = distribution(direct.map((s) => s.charsPerSecond));
      const rTps = distribution(route.map((s) => s.charsPerSecond));
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
        direct: { ttftP50: d.p50, ttftP99: d.p99, charsPerSecondP50: dTps.p50 },
        route: { ttftP50: r.p50, ttftP99: r.p99, charsPerSecondP50: rTps.p50 },
        routePhasesP50,
        addedTtftP50: r.p50 - d.p50,
        addedTtftP99: r.p99 - d.p99,
        throughputRatio: rTps.p50 / dTps.p50,
        samples: d.count,
      });
    }
  } finally {
    await app.stop();
    await model.stop();
  }

  console.log(
    `\nChat: route vs demo model direct (ttft ${pace.ttftMs} ms, ${pace.tokensPerSecond} tok/s, ${rounds} rounds)`,
  );
  console.log(
    "streams (mode)  TTFT p50 direct/route (+added)   TTFT p99 direct/route (+added)   chars/s p50 direct/route (ratio)   route phases p50 (ms)",
  );
  for (const row of rows) {
    console.log(
      `${`${row.concurrency} (${row.mode})`.padStart(14)}  ${row.direct.ttftP50.toFixed(1)}/${row.route.ttftP50.toFixed(1)} ms (+${row.addedTtftP50.toFixed(1)})`.padEnd(
        46,
      ) +
        `${row.direct.ttftP99.toFixed(1)}/${row.route.ttftP99.toFixed(1)} ms (+${row.addedTtftP99.toFixed(1)})`.padEnd(
          35,
        ) +
        `${row.direct.charsPerSecondP50.toFixed(1)}/${row.route.charsPerSecondP50.toFixed(1)} (${row.throughputRatio.toFixed(3)}×)`.padEnd(
          35,
        ) +
        Object.entries(row.routePhasesP50)
          .map(([name, ms]) => `${name} ${ms.toFixed(1)}`)
          .join(", "),
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
      title: "Time to first token: demo model direct vs through the chat route",
      unit: "ms",
      groups: rows.flatMap((row) => [
        {
          label: `${row.concurrency} ${row.mode}`,
          bars: [
            { series: "direct p50", value: row.direct.ttftP50 },
            { series: "route p50", value: row.route.ttftP50 },
            { series: "direct p99", value: row.direct.ttftP99 },
            { series: "route p99", value: row.route.ttftP99 },
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
