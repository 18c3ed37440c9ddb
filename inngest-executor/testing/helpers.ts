/**
 * Shared test fixtures: a real executor on a random port in its own schema,
 * and a real app (an `Inngest` client + `serve` from `inngest/node`) on a
 * loopback HTTP server, so the conformance suite exercises the unmodified SDK.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { Inngest, type InngestFunction } from "inngest";
import { serve } from "inngest/node";
import pg from "pg";
import { startExecutor, type Executor, type ExecutorOptions } from "../index";

export function testSchema(label: string): string {
  return `inngest_executor_t_${label.replace(/[^a-z0-9]/g, "_")}_${randomBytes(3).toString("hex")}`;
}

export function databaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is not set (the Vitest harness sets it)");
  return url;
}

export async function startTestExecutor(
  options: Partial<ExecutorOptions> & { schema: string },
): Promise<Executor> {
  return startExecutor({
    databaseUrl: databaseUrl(),
    port: 0,
    retryBaseMs: 20,
    retryMaxMs: 200,
    log: () => undefined,
    ...options,
  });
}

export interface TestApp {
  url: string;
  /** Call requests the app received, by function id. */
  calls: Map<string, number>;
  stop(): Promise<void>;
}

export function testClient(
  appId: string,
  executorUrl: string,
  options: { checkpointing?: boolean } = {},
) {
  return new Inngest({
    id: appId,
    isDev: true,
    baseUrl: executorUrl,
    logger: { info() {}, warn() {}, error() {}, debug() {} },
    ...(options.checkpointing === false ? { checkpointing: false } : {}),
  });
}

export async function startTestApp(
  client: Inngest.Any,
  functions: InngestFunction.Any[],
): Promise<TestApp> {
  const handler = serve({ client, functions });
  const calls = new Map<string, number>();
  const server = http.createServer((req, res) => {
    if (req.method === "POST") {
      const fnId = new URL(req.url ?? "/", "http://app").searchParams.get("fnId") ?? "";
      calls.set(fnId, (calls.get(fnId) ?? 0) + 1);
    }
    void handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/inngest`,
    calls,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function sendEvent(
  executorUrl: string,
  event: Record<string, unknown> | Record<string, unknown>[],
): Promise<string[]> {
  const res = await fetch(`${executorUrl}/e/test-key`, {
    method: "POST",
    body: JSON.stringify(event),
  });
  if (!res.ok) throw new Error(`POST /e answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { ids: string[] };
  return body.ids;
}

export interface RunView {
  run_id: string;
  function_id: string;
  status: string;
  output: unknown;
  error: { name: string; message: string } | null;
}

export async function runsForEvent(executorUrl: string, eventId: string): Promise<RunView[]> {
  const res = await fetch(`${executorUrl}/v1/events/${eventId}/runs`);
  return ((await res.json()) as { data: RunView[] }).data;
}

/** Polls until the predicate holds (runs finish asynchronously), failing after the timeout. */
export async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`Timed out waiting; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function waitForRuns(
  executorUrl: string,
  eventId: string,
  count = 1,
  timeoutMs = 15_000,
): Promise<RunView[]> {
  return waitFor(
    () => runsForEvent(executorUrl, eventId),
    (runs) => runs.length >= count && runs.every((run) => run.status !== "Running"),
    timeoutMs,
  );
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
