/**
 * Benchmark of live job events (issue 5): commit-to-subscriber latency at
 * 200 events/s from 10 writers, through the in-process hub and through the
 * real tRPC SSE route handler to clients in another process; memory per
 * subscriber with 1,000 subscribers (hub, and SSE on the server side); and
 * writer throughput with NOTIFY as a ratio to without. It creates and drops
 * its own database.
 *
 *   npm run bench:job-events            (writes bench/results/job-events.json)
 *
 * NOTE: the app's modules import `server-only`, which only loads under the
 * `react-server` export condition, so `run()` does the work in a child Node
 * process started with that condition (the "server"); SSE clients run in a
 * second child so their memory and CPU are not the server's.
 */
import { spawn } from "node:child_process";
import { setMaxListeners } from "node:events";
import { mkdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { percentiles, type Percentiles } from "./lib/stats";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface JobEventsBenchResults {
  machine: { cpus: number; node: string; note: string };
  latency: {
    ratePerSecond: number;
    writers: number;
    seconds: number;
    hub: {
      subscribersPerJob: number;
      deliveries: number;
      lost: number;
      commitToSubscriberMs: Percentiles;
    };
    sse: { clientsPerJob: number; deliveries: number; lost: number; commitToClientMs: Percentiles };
  };
  memory: {
    subscribers: number;
    hubHeapBytesPerSubscriber: number;
    sseServerHeapBytesPerSubscriber: number;
    sseServerRssBytesPerSubscriber: number;
  };
  throughput: {
    writers: number;
    secondsPerRound: number;
    rounds: number;
    withNotifyEventsPerSecond: number;
    withoutNotifyEventsPerSecond: number;
    ratio: number;
  };
}

export interface BenchOptions {
  seconds?: number;
  ratePerSecond?: number;
  writers?: number;
  hubSubscribersPerJob?: number;
  sseClientsPerJob?: number;
  memorySubscribers?: number;
  throughputSeconds?: number;
}

const defaults: Required<BenchOptions> = {
  seconds: 10,
  ratePerSecond: 200,
  writers: 10,
  hubSubscribersPerJob: 10,
  sseClientsPerJob: 5,
  memorySubscribers: 1000,
  throughputSeconds: 4,
};

async function* chunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

// ---------------------------------------------------------------- parent ---

/** Creates a database, runs the server child in it, drops it. */
export async function run(options: BenchOptions = {}): Promise<JobEventsBenchResults> {
  const config = { ...defaults, ...options };
  const { runServerRole } = await import("./lib/server-role");
  return runServerRole<JobEventsBenchResults>({
    script: import.meta.url,
    database: `dispatch_bench_job_events_${process.pid}`,
    resultVariable: "JOB_EVENTS_BENCH_RESULT",
    nodeFlags: ["--expose-gc"],
    env: { JOB_EVENTS_BENCH_CONFIG: JSON.stringify(config) },
    label: "The benchmark's server process",
  });
}

// ---------------------------------------------------------------- server ---

/**
 * The baseline's fixture: a Prisma client on the bench database whose
 * `pg_notify` is a no-op, so the app's own write path runs unchanged minus
 * the NOTIFY. NOTE: a schema listed before `pg_catalog` in `search_path`
 * shadows the built-in function, and the write calls it unqualified.
 */
async function silentClient(db: typeof import("@/lib/db").db) {
  const { PrismaPg } = await import("@prisma/adapter-pg");
  const { PrismaClient } = await import("@/lib/generated/prisma/client");
  await db.$executeRawUnsafe("CREATE SCHEMA IF NOT EXISTS bench_silent");
  await db.$executeRawUnsafe(
    "CREATE OR REPLACE FUNCTION bench_silent.pg_notify(text, text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN END $$",
  );
  const adapter = new PrismaPg({
    connectionString: process.env.DATABASE_URL!,
    max: 20,
    options: "-c search_path=bench_silent,public,pg_catalog",
  });
  return new PrismaClient({ adapter });
}

async function serverMain() {
  const config = JSON.parse(process.env.JOB_EVENTS_BENCH_CONFIG!) as Required<BenchOptions>;
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const { db } = await import("@/lib/db");
  const { commitStep } = await import("@/lib/jobs/event-log");
  const { jobEventLog, jobEventsHub } = await import("@/lib/jobs/live");
  const { createJobAccessToken } = await import("@/lib/jobs/access-token");
  const { createTestJob, createTestOwner } = await import("@/test/jobs");
  const { GET } = await import("@/app/api/trpc/[trpc]/route");
  const hub = jobEventsHub();
  await hub.ready();
  const ownerId = await createTestOwner();

  async function newJobs(count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const { id } = await createTestJob({ ownerId, status: "running", title: `bench ${i}` });
      await commitStep(id, "create", { events: [{ type: "job.queued" }] });
      ids.push(id);
    }
    return ids;
  }

  /** Writers at a fixed total rate, one job each; returns commit times by `jobId:seq`. */
  async function paced(jobs: string[], seconds: number, rate: number) {
    const committed = new Map<string, number>();
    const interval = (1000 * jobs.length) / rate;
    const start = now();
    await Promise.all(
      jobs.map(async (jobId, writer) => {
        const count = Math.floor((seconds * 1000) / interval);
        for (let i = 0; i < count; i++) {
          const due = start + writer * (interval / jobs.length) + i * interval;
          const wait = due - now();
          if (wait > 0) await sleep(wait);
          const { appended } = await commitStep(jobId, `tick-${i}`, { progress: (i + 1) / count });
          const at = now();
          for (const event of appended) committed.set(`${jobId}:${event.seq}`, at);
        }
      }),
    );
    return committed;
  }

  function latencies(committed: Map<string, number>, received: Array<[string, number]>) {
    const values: number[] = [];
    for (const [key, at] of received) {
      const sent = committed.get(key);
      // The writer's clock reading comes after COMMIT returns; a delivery can beat it by a hair.
      if (sent !== undefined) values.push(Math.max(0, at - sent));
    }
    return values;
  }

  // Throughput: NOTIFY vs none, alternating rounds so drift hits both alike.
  const silentDb = await silentClient(db);
  const throughputJobs = await newJobs(config.writers);
  const totals = { notify: 0, silent: 0 };
  const rounds = 3;
  // Round -1 warms up (JIT, connection pool) and is not counted.
  for (let round = -1; round < rounds; round++) {
    for (const mode of ["notify", "silent"] as const) {
      let written = 0;
      const until = now() + config.throughputSeconds * 1000;
      await Promise.all(
        throughputJobs.map(async (jobId) => {
          for (let i = 0; now() < until; i++) {
            const { appended } = await commitStep(
              jobId,
              `${mode}-${round}-${i}`,
              { events: [{ type: "progress", data: { i } }] },
              { client: mode === "notify" ? db : silentDb },
            );
            written += appended.length;
          }
        }),
      );
      if (round >= 0) totals[mode] += written;
    }
  }
  await silentDb.$disconnect();
  const seconds = rounds * config.throughputSeconds;
  const throughput = {
    writers: config.writers,
    secondsPerRound: config.throughputSeconds,
    rounds,
    withNotifyEventsPerSecond: Math.round(totals.notify / seconds),
    withoutNotifyEventsPerSecond: Math.round(totals.silent / seconds),
    ratio: Math.round((totals.notify / Math.max(totals.silent, 1)) * 1000) / 1000,
  };
  console.log(`throughput: ${JSON.stringify(throughput)}`);

  // Latency through the hub.
  const hubJobs = await newJobs(config.writers);
  const hubReceived: Array<[string, number]> = [];
  const controller = new AbortController();
  // One signal for many subscribers here; in the app each subscription has its own.
  setMaxListeners(0, controller.signal);
  const consumers = hubJobs.flatMap((jobId) =>
    Array.from({ length: config.hubSubscribersPerJob }, async () => {
      for await (const event of hub.subscribe(jobEventLog, jobId, 1, { signal: controller.signal }))
        hubReceived.push([`${jobId}:${event.seq}`, now()]);
    }),
  );
  await sleep(200);
  const hubCommitted = await paced(hubJobs, config.seconds, config.ratePerSecond);
  await sleep(500);
  controller.abort();
  await Promise.all(consumers);
  const hubLatency = latencies(hubCommitted, hubReceived);
  const hubResult = {
    subscribersPerJob: config.hubSubscribersPerJob,
    deliveries: hubReceived.length,
    lost: hubCommitted.size * config.hubSubscribersPerJob - hubLatency.length,
    commitToSubscriberMs: percentiles(hubLatency),
  };
  console.log(`hub latency: ${JSON.stringify(hubResult)}`);

  // The real route handler behind a plain Node HTTP server.
  const server = http.createServer(async (req, res) => {
    const abort = new AbortController();
    res.on("close", () => abort.abort());
    try {
      const headers = new Headers();
      for (const [key, value] of Object.entries(req.headers))
        if (typeof value === "string") headers.set(key, value);
      const response = await GET(
        new Request(`http://127.0.0.1${req.url}`, { headers, signal: abort.signal }),
      );
      res.writeHead(response.status, Object.fromEntries(response.headers));
      if (response.body) for await (const chunk of chunks(response.body)) res.write(chunk);
      res.end();
    } catch {
      res.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;

  async function clients(jobs: string[], perJob: number) {
    const streams = jobs.flatMap((jobId) =>
      Array.from({ length: perJob }, () => ({ jobId, token: createJobAccessToken(jobId) })),
    );
    const child = spawn(
      process.execPath,
      ["--import", "tsx", fileURLToPath(import.meta.url), "--role=sse-clients"],
      {
        cwd: root,
        stdio: ["pipe", "pipe", "inherit"],
        env: {
          ...process.env,
          SSE_BENCH_URL: `http://127.0.0.1:${port}`,
          SSE_BENCH_STREAMS: JSON.stringify(streams),
        },
      },
    );
    const lines = readline.createInterface({ input: child.stdout! });
    const next = () => new Promise<string>((resolve) => lines.once("line", resolve));
    const ready = await next();
    if (ready !== "ready") throw new Error(`SSE clients: ${ready}`);
    return {
      child,
      async stop(): Promise<Array<[string, number]>> {
        child.stdin!.write("stop\n");
        const result = JSON.parse(await next()) as Array<[string, number]>;
        await new Promise((resolve) => child.once("exit", resolve));
        return result;
      },
    };
  }

  // Latency through SSE.
  const sseJobs = await newJobs(config.writers);
  const sse = await clients(sseJobs, config.sseClientsPerJob);
  await sleep(200);
  const sseCommitted = await paced(sseJobs, config.seconds, config.ratePerSecond);
  await sleep(500);
  const sseReceived = (await sse.stop()).filter(([key]) => !key.endsWith(":1"));
  const sseLatency = latencies(sseCommitted, sseReceived);
  const sseResult = {
    clientsPerJob: config.sseClientsPerJob,
    deliveries: sseReceived.length,
    lost: sseCommitted.size * config.sseClientsPerJob - sseLatency.length,
    commitToClientMs: percentiles(sseLatency),
  };
  console.log(`sse latency: ${JSON.stringify(sseResult)}`);

  // Memory per subscriber: 1,000 waiting subscribers on 100 jobs.
  const memoryJobs = await newJobs(100);
  const perJob = Math.ceil(config.memorySubscribers / memoryJobs.length);
  async function settle() {
    for (let i = 0; i < 3; i++) {
      gc();
      await sleep(100);
    }
  }
  await settle();
  const hubBefore = process.memoryUsage().heapUsed;
  const memoryController = new AbortController();
  setMaxListeners(0, memoryController.signal);
  let replayed = 0;
  const waiting = memoryJobs.flatMap((jobId) =>
    Array.from({ length: perJob }, async () => {
      for await (const _ of hub.subscribe(jobEventLog, jobId, 0, {
        signal: memoryController.signal,
      }))
        replayed++;
    }),
  );
  while (replayed < memoryJobs.length * perJob) await sleep(50);
  await settle();
  const hubAfter = process.memoryUsage().heapUsed;
  memoryController.abort();
  await Promise.all(waiting);

  await settle();
  const sseBefore = process.memoryUsage();
  const many = await clients(memoryJobs, perJob);
  await sleep(500);
  await settle();
  const sseAfter = process.memoryUsage();
  await many.stop();
  const subscribers = memoryJobs.length * perJob;
  const memory = {
    subscribers,
    hubHeapBytesPerSubscriber: Math.round((hubAfter - hubBefore) / subscribers),
    sseServerHeapBytesPerSubscriber: Math.round(
      (sseAfter.heapUsed - sseBefore.heapUsed) / subscribers,
    ),
    sseServerRssBytesPerSubscriber: Math.round((sseAfter.rss - sseBefore.rss) / subscribers),
  };
  console.log(`memory: ${JSON.stringify(memory)}`);

  server.closeAllConnections();
  server.close();
  await hub.close();
  await db.$disconnect();

  const results: JobEventsBenchResults = {
    machine: {
      cpus: os.cpus().length,
      node: process.version,
      note: "writers, hub and SSE server share one process; SSE clients run in another process on the same machine",
    },
    latency: {
      ratePerSecond: config.ratePerSecond,
      writers: config.writers,
      seconds: config.seconds,
      hub: hubResult,
      sse: sseResult,
    },
    memory,
    throughput,
  };
  writeFileSync(process.env.JOB_EVENTS_BENCH_RESULT!, JSON.stringify(results, null, 2));
}

// ----------------------------------------------------------- SSE clients ---

/** Opens tRPC SSE subscriptions the way httpSubscriptionLink does and records when each event arrives. */
async function sseClientsMain() {
  const superjson = (await import("superjson")).default;
  const base = process.env.SSE_BENCH_URL!;
  const streams = JSON.parse(process.env.SSE_BENCH_STREAMS!) as Array<{
    jobId: string;
    token: string;
  }>;
  const received: Array<[string, number]> = [];
  const controller = new AbortController();
  let connected = 0;
  let announced = false;

  const open = async ({ jobId, token }: { jobId: string; token: string }) => {
    const input = encodeURIComponent(
      JSON.stringify(superjson.serialize({ id: jobId, token, lastEventId: null })),
    );
    const response = await fetch(`${base}/api/trpc/jobs.events?input=${input}`, {
      headers: { accept: "text/event-stream" },
      signal: controller.signal,
    });
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    const decoder = new TextDecoder();
    let buffer = "";
    let first = true;
    for await (const chunk of chunks(response.body)) {
      const at = now();
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const id = /^id: ?(.*)$/m.exec(block)?.[1];
        if (id === undefined) continue;
        received.push([`${jobId}:${id}`, at]);
        if (first) {
          first = false;
          connected++;
          if (connected === streams.length && !announced) {
            announced = true;
            process.stdout.write("ready\n");
          }
        }
      }
    }
  };

  const all = streams.map((stream) =>
    open(stream).catch((error: unknown) => {
      if (!controller.signal.aborted) process.stdout.write(`error ${String(error)}\n`);
    }),
  );
  const lines = readline.createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => lines.once("line", () => resolve()));
  controller.abort();
  await Promise.all(all);
  // NOTE: stdout to a pipe is asynchronous; exiting before the write drains truncates it.
  process.stdout.write(`${JSON.stringify(received)}\n`, () => process.exit(0));
}

// ------------------------------------------------------------------ entry ---

async function cli() {
  const results = await run();
  mkdirSync(path.join(root, "bench", "results"), { recursive: true });
  const file = path.join(root, "bench", "results", "job-events.json");
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(JSON.stringify(results, null, 2));
  console.log(`written to ${path.relative(root, file)}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const role = process.argv.find((arg) => arg.startsWith("--role="))?.slice("--role=".length);
  const main = role === "server" ? serverMain : role === "sse-clients" ? sseClientsMain : cli;
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
