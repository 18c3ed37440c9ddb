/**
 * Streams straight from the offline demo model, as the baseline the chat
 * route is compared with: time to first token and tokens per second at 1, 10
 * and 50 concurrent streams. The model runs in its own process, as it does
 * under `npm run dev`. The helpers are exported for `bench/run.ts`.
 *
 *   tsx bench/demo-model-direct.ts [--ttft-ms 300] [--tps 40] [--concurrency 1,10,50] [--rounds 3]
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DEMO_MODEL_ID } from "@/lib/ai/demo-model/protocol";
import { percentiles } from "./lib/stats";
import {
  freePort,
  readServerSentEvents,
  stopChild,
  contentTimer,
  waitUntilReady,
} from "./lib/process";

export interface StreamSample {
  /** Request sent → first content token received. */
  ttftMs: number;
  /** Characters of content received. */
  chars: number;
  /** Pieces of content received (from the model directly: its tokens). */
  pieces: number;
  /** First content → last content, over the characters after the first piece. */
  charsPerSecond: number;
}

/** Median and 99th percentile of a sample (see bench/lib/stats.ts). */
export function distribution(values: readonly number[]): {
  p50: number;
  p99: number;
  count: number;
} {
  const { p50, p99, n } = percentiles(values);
  return { p50, p99, count: n };
}

/** Starts `lib/ai/demo-model/main.ts` in a child process and waits until it answers. */
export async function spawnDemoModel(pace: { ttftMs: number; tokensPerSecond: number }) {
  const port = await freePort();
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const child = spawn(process.execPath, ["--import", "tsx", "lib/ai/demo-model/main.ts"], {
    cwd: root,
    env: {
      ...process.env,
      DEMO_MODEL_PORT: String(port),
      DEMO_MODEL_TTFT_MS: String(pace.ttftMs),
      DEMO_MODEL_TOKENS_PER_SECOND: String(pace.tokensPerSecond),
      DEMO_MODEL_FAULTS: "",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}/v1`;
  await waitUntilReady(`${url}/models`, child, "the demo model", 20_000);
  return { url, pid: child.pid, stop: () => stopChild(child) };
}

/** One streamed chat completion, timed at the client. */
export async function measureStream(url: string, prompt: string): Promise<StreamSample> {
  const started = performance.now();
  const response = await fetch(`${url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: DEMO_MODEL_ID,
      stream: true,
      messages: [{ role: "user", content: prompt }],
    }),
  });
  if (!response.ok || !response.body) throw new Error(`demo model answered ${response.status}`);
  const timer = contentTimer(started);
  await readServerSentEvents(response.body, (data) => {
    if (data === "[DONE]") return;
    const content = (JSON.parse(data) as { choices: Array<{ delta: { content?: string } }> })
      .choices[0]?.delta.content;
    if (content) timer.content(content);
  });
  return timer.sample();
}

/** `concurrency` streams at once, `rounds` times; every sample. */
export async function measureConcurrent(
  measure: (i: number) => Promise<StreamSample>,
  concurrency: number,
  rounds: number,
): Promise<StreamSample[]> {
  const samples: StreamSample[] = [];
  for (let round = 0; round < rounds; round++) {
    samples.push(
      ...(await Promise.all(
        Array.from({ length: concurrency }, (_, i) => measure(round * concurrency + i)),
      )),
    );
  }
  return samples;
}

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index !== -1 ? (process.argv[index + 1] ?? fallback) : fallback;
}

async function main() {
  const pace = {
    ttftMs: Number(argument("ttft-ms", "300")),
    tokensPerSecond: Number(argument("tps", "40")),
  };
  const levels = argument("concurrency", "1,10,50").split(",").map(Number);
  const rounds = Number(argument("rounds", "3"));
  const model = await spawnDemoModel(pace);
  try {
    console.log(
      `demo model direct (pid ${model.pid}), ttft ${pace.ttftMs} ms, ${pace.tokensPerSecond} tokens/s`,
    );
    console.log("concurrency  ttft p50  ttft p99  chars/s p50  chars/s p1  samples");
    for (const concurrency of levels) {
      const samples = await measureConcurrent(
        (i) =>
          measureStream(model.url, `Benchmark stream ${i}: how does streaming behave under load?`),
        concurrency,
        rounds,
      );
      const ttft = distribution(samples.map((s) => s.ttftMs));
      // For throughput the low tail matters, so p99 is the 1st percentile.
      const tps = distribution(samples.map((s) => -s.charsPerSecond));
      console.log(
        [
          String(concurrency).padStart(11),
          ttft.p50.toFixed(1).padStart(9),
          ttft.p99.toFixed(1).padStart(9),
          (-tps.p50).toFixed(1).padStart(12),
          (-tps.p99).toFixed(1).padStart(12),
          String(ttft.count).padStart(8),
        ].join(""),
      );
    }
  } finally {
    await model.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await main();
}
