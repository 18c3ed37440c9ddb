/**
 * The apps the executor benchmark calls: the bench app (inngest-executor/
 * fixtures/bench-app.ts) in a child process with a deployment's environment,
 * and the SDK alone, the same app driven directly with nothing stored.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, stopChild } from "../lib/process";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The app's environment as a deployment gives it: its own few variables, not
 * the shell and npm environment of whoever runs the benchmark.
 * NOTE: the SDK copies the whole of process.env several times per step
 * (getProcessEnv), so the app's CPU per step grows with the environment's size.
 */
export function appEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  if (process.env.BENCH_APP_INHERIT_ENV === "1") return { ...process.env, ...extra };
  const keep = ["PATH", "HOME", "TMPDIR", "TZ", "LANG"];
  return {
    NODE_ENV: "production",
    ...Object.fromEntries(
      keep.flatMap((key) => (process.env[key] ? [[key, process.env[key]]] : [])),
    ),
    ...extra,
  };
}

export function startBenchApp(port: number, inngestUrl: string): ChildProcess {
  return spawn(
    process.execPath,
    [
      ...(process.env.BENCH_APP_NODE_FLAGS?.split(" ").filter(Boolean) ?? []),
      "--import",
      "tsx",
      "inngest-executor/fixtures/bench-app.ts",
    ],
    {
      cwd: root,
      env: appEnvironment({ APP_PORT: String(port), INNGEST_DEV: inngestUrl }),
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
}

export interface RunOutput {
  starts: number[];
}

/**
 * The SDK alone: a copy of the bench app whose INNGEST_DEV is a server that
 * answers every checkpoint with 200 and stores nothing, and a driver that calls
 * the app's serve endpoint with the request an executor sends, keeping the
 * memoized steps in memory.
 */
export async function startSdkOnly() {
  const finished = new Map<string, (output: RunOutput) => void>();
  const checkpointSink = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (req.url?.startsWith("/v1/checkpoint/")) {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
          run_id: string;
          steps?: { op: string; data?: unknown }[];
        };
        const complete = body.steps?.find((op) => op.op === "RunComplete");
        if (complete) finished.get(body.run_id)?.(complete.data as RunOutput);
      }
      res.writeHead(200, { "content-type": "application/json", "x-inngest-server-kind": "dev" });
      res.end('{"ok":true}');
    });
  });
  checkpointSink.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => checkpointSink.listen(0, "127.0.0.1", () => resolve()));
  const sinkUrl = `http://127.0.0.1:${(checkpointSink.address() as { port: number }).port}`;
  const port = await freePort();
  const app = startBenchApp(port, sinkUrl);
  const appUrl = `http://127.0.0.1:${port}/api/inngest`;
  const agent = new http.Agent({ keepAlive: true });

  let functions: { id: string; url: string; event: string }[] = [];
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(appUrl, {
        method: "PUT",
        headers: {
          "content-type": "application/json",
          "x-inngest-sync-kind": "in_band",
          "x-inngest-server-kind": "dev",
        },
        body: JSON.stringify({ url: appUrl }),
      });
      const body = (await res.json()) as {
        functions: {
          id: string;
          triggers: { event: string }[];
          steps: Record<string, { runtime: { url: string } }>;
        }[];
      };
      functions = body.functions.map((fn) => ({
        id: fn.id,
        url: Object.values(fn.steps)[0]!.runtime.url,
        event: fn.triggers[0]!.event,
      }));
      break;
    } catch (err) {
      if (i > 100) throw err;
      await sleep(100);
    }
  }

  const post = (url: string, body: unknown) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        url,
        {
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "x-inngest-server-kind": "dev" },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (text += chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(JSON.stringify(body));
    });

  /** One run of a function, driven to completion as an executor would, with nothing stored. */
  const runOnce = async (fnId: string): Promise<RunOutput> => {
    const fn = functions.find((candidate) => candidate.id.endsWith(fnId));
    if (!fn) throw new Error(`bench app has no function ${fnId}`);
    const runId = randomUUID();
    const event = { id: randomUUID(), name: fn.event, data: {}, ts: Date.now() };
    const steps: Record<string, unknown> = {};
    const stack: string[] = [];
    const url = new URL(fn.url);
    url.searchParams.set("stepId", "step");
    const done = new Promise<RunOutput>((resolve) => finished.set(runId, resolve));
    try {
      for (let call = 0; call < 50; call++) {
        const res = await post(url.toString(), {
          event,
          events: [event],
          steps,
          ctx: {
            run_id: runId,
            fn_id: fn.id,
            attempt: 0,
            max_attempts: 4,
            disable_immediate_execution: false,
            use_api: false,
            qi_id: `1:${runId}`,
            stack: { stack, current: Math.max(stack.length - 1, 0) },
          },
        });
        if (res.status === 200) return JSON.parse(res.text) as RunOutput;
        if (res.status !== 206) throw new Error(`SDK answered ${res.status}: ${res.text}`);
        const parsed = JSON.parse(res.text) as { id: string; op: string; data?: unknown }[];
        const ops = Array.isArray(parsed) ? parsed : [parsed];
        const complete = ops.find((op) => op.op === "RunComplete");
        if (complete) return (complete.data as RunOutput | undefined) ?? (await done);
        for (const op of ops) {
          steps[op.id] = { type: "data", data: op.data ?? null };
          stack.push(op.id);
        }
      }
      throw new Error("run did not complete in 50 calls");
    } finally {
      finished.delete(runId);
    }
  };

  return {
    pid: app.pid,
    runOnce,
    async stop() {
      await stopChild(app);
      agent.destroy();
      checkpointSink.closeAllConnections();
      await new Promise<void>((resolve) => checkpointSink.close(() => resolve()));
    },
  };
}
