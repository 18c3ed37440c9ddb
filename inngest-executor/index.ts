/**
 * The embedded Inngest executor: a small Postgres-backed server that speaks
 * the Inngest SDK protocol, so the unmodified `inngest` SDK runs the app's
 * functions with `INNGEST_DEV=<its URL>` as it would on the Dev Server.
 * `startExecutor` is what `npm run dev`, the test setup and the benchmark use.
 */
import type { AddressInfo } from "node:net";
import { Engine } from "./engine";
import { createHttpServer } from "./http-server";
import { executorConfigFromEnv } from "./config";
import { inBandSyncResponseSchema } from "./protocol";

export interface ExecutorOptions {
  /** Postgres connection string (default: EXECUTOR_DATABASE_URL, else DATABASE_URL); state lives in its own schema. */
  databaseUrl?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /**
   * App serve URLs (e.g. http://127.0.0.1:3000/api/inngest) synced at start, retried until the app is up,
   * then re-synced every `resyncIntervalMs` so that new or changed functions are picked up, as the Dev Server does.
   */
  appUrls?: string[];
  resyncIntervalMs?: number;
  schema?: string;
  retryBaseMs?: number;
  retryMaxMs?: number;
  workerConcurrency?: number;
  callTimeoutMs?: number;
  /** One line per notable event; defaults to stdout with a prefix. */
  log?: (line: string) => void;
}

export interface Executor {
  url: string;
  /** Syncs one app now (an in-band sync through its serve endpoint); resolves when it has synced. */
  sync(appUrl: string): Promise<void>;
  stop(): Promise<void>;
}

/** How long a request still in progress at stop may take before its connection is cut. */
const STOP_GRACE_MS = 2_000;

export async function startExecutor(options: ExecutorOptions = {}): Promise<Executor> {
  const log = options.log ?? ((line: string) => console.log(`[inngest-executor] ${line}`));
  const engine = new Engine({
    databaseUrl: options.databaseUrl ?? executorConfigFromEnv().databaseUrl,
    schema: options.schema ?? "inngest_executor",
    retryBaseMs: options.retryBaseMs ?? 1000,
    retryMaxMs: options.retryMaxMs ?? 60_000,
    workerConcurrency: options.workerConcurrency ?? 100,
    callTimeoutMs: options.callTimeoutMs ?? 30 * 60_000,
    log,
  });
  await engine.start();
  const server = createHttpServer(engine, log);
  server.keepAliveTimeout = 30_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 8288, options.host ?? "127.0.0.1", () => resolve());
    });
  } catch (err) {
    await engine.stop();
    throw err;
  }
  const address = server.address() as AddressInfo;
  const url = `http://${options.host ?? "127.0.0.1"}:${address.port}`;
  log(`listening on ${url} (schema ${options.schema ?? "inngest_executor"})`);

  let stopping = false;
  const sync = (appUrl: string) => syncApp(engine, appUrl);
  const sleepers = new Set<() => void>();
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      sleepers.add(done);
    });
  const background = (options.appUrls ?? []).map(async (appUrl) => {
    let failures = 0;
    while (!stopping) {
      try {
        await sync(appUrl);
        failures = 0;
        await pause(options.resyncIntervalMs ?? 5000);
      } catch (err) {
        if (failures === 0 || failures % 20 === 0)
          log(`app at ${appUrl} not synced (${(err as Error).message}); retrying`);
        failures++;
        await pause(Math.min(250 * 2 ** Math.min(failures, 3), 2000));
      }
    }
  });

  return {
    url,
    sync,
    async stop() {
      stopping = true;
      for (const wake of [...sleepers]) wake();
      // No new connections from here on; the ones open may finish what they are sending.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await Promise.allSettled(background);
      // NOTE: the engine stops before the server waits for its connections: while it ran, a
      // cron tick or a retry started new calls whose SDK answered over a kept-alive
      // connection, so a connection was never idle for long and `close` waited past 90 s.
      await engine.stop();
      server.closeIdleConnections();
      const cut = setTimeout(() => server.closeAllConnections(), STOP_GRACE_MS);
      await closed;
      clearTimeout(cut);
      log("stopped");
    },
  };
}

/**
 * Asks the app's serve endpoint for its functions (the SDK's in-band sync).
 * If the SDK only does out-of-band syncs it calls our /fn/register itself.
 */
async function syncApp(engine: Engine, appUrl: string): Promise<void> {
  const res = await fetch(appUrl, {
    method: "PUT",
    headers: {
      "content-type": "application/json",
      "x-inngest-sync-kind": "in_band",
      "x-inngest-server-kind": "dev",
    },
    body: JSON.stringify({ url: appUrl }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok)
    throw new Error(`sync of ${appUrl} answered HTTP ${res.status}: ${text.slice(0, 200)}`);
  if (res.headers.get("x-inngest-sync-kind") !== "in_band") return;
  const body = inBandSyncResponseSchema.parse(JSON.parse(text));
  await engine.registerApp({
    appName: body.app_id,
    url: body.url,
    functions: body.functions,
    sdk: body.sdk,
  });
}
