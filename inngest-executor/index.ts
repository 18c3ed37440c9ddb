/**
 * The embedded Inngest executor: a small Postgres-backed server that speaks
 * the Inngest SDK protocol, so the unmodified `inngest` SDK runs the app's
 * functions with `INNGEST_DEV=<its URL>` as it would on the Dev Server.
 * `startExecutor` is what `npm run dev`, the test setup and the benchmark use.
 */
import type { AddressInfo } from "node:net";
import { Engine } from "./engine";
import { createHttpServer } from "./http-server";
import { inBandSyncResponseSchema } from "./protocol";

export interface ExecutorOptions {
  /** Postgres connection string; the executor keeps its state in its own schema there. */
  databaseUrl: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** App serve URLs (e.g. http://127.0.0.1:3000/api/inngest) synced at start, retried until the app is up. */
  appUrls?: string[];
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

export async function startExecutor(options: ExecutorOptions): Promise<Executor> {
  const log = options.log ?? ((line: string) => console.log(`[inngest-executor] ${line}`));
  const engine = new Engine({
    databaseUrl: options.databaseUrl,
    schema: options.schema ?? "inngest_executor",
    retryBaseMs: options.retryBaseMs ?? 1000,
    retryMaxMs: options.retryMaxMs ?? 60_000,
    workerConcurrency: options.workerConcurrency ?? 100,
    callTimeoutMs: options.callTimeoutMs ?? 5 * 60_000,
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
  const background = (options.appUrls ?? []).map(async (appUrl) => {
    for (let attempt = 0; !stopping; attempt++) {
      try {
        await sync(appUrl);
        return;
      } catch (err) {
        if (attempt === 0 || attempt % 20 === 0) log(`app at ${appUrl} not synced yet (${(err as Error).message}); retrying`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** Math.min(attempt, 3), 2000)));
      }
    }
  });

  return {
    url,
    sync,
    async stop() {
      stopping = true;
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled(background);
      await engine.stop();
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
    headers: { "content-type": "application/json", "x-inngest-sync-kind": "in_band", "x-inngest-server-kind": "dev" },
    body: JSON.stringify({ url: appUrl }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`sync of ${appUrl} answered HTTP ${res.status}: ${text.slice(0, 200)}`);
  if (res.headers.get("x-inngest-sync-kind") !== "in_band") return;
  const body = inBandSyncResponseSchema.parse(JSON.parse(text));
  await engine.registerApp({ appName: body.app_id, url: body.url, functions: body.functions, sdk: body.sdk });
}
