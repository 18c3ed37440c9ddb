/**
 * The executor's HTTP surface, shaped like the Inngest Dev Server's: the event
 * API, the SDK's register and checkpoint calls, REST API v1 for runs, and a
 * small HTML page listing recent runs.
 */
import http from "node:http";
import { z } from "zod";
import { SyncRefusedError, type Engine, type RunSummaryRow } from "./engine";
import { renderRunsPage, statusLabel } from "./runs-page";

const MAX_BODY_BYTES = 10 * 1024 * 1024;

type Handler = (req: http.IncomingMessage, params: string[], body: unknown) => Promise<Reply>;
interface Reply {
  status: number;
  body: unknown;
  contentType?: string;
}

export function createHttpServer(engine: Engine, log: (line: string) => void): http.Server {
  const routes: { method: string; pattern: RegExp; handler: Handler }[] = [
    {
      method: "POST",
      pattern: /^\/e\/([^/]+)$/,
      handler: async (req, _params, body) => sendEvents(engine, req, body),
    },
    {
      method: "POST",
      pattern: /^\/fn\/register$/,
      handler: async (_req, _params, body) => {
        const result = await engine.registerApp(body);
        return { status: 200, body: { ok: true, modified: result.modified, app_id: result.appId } };
      },
    },
    {
      method: "POST",
      pattern: /^\/v1\/checkpoint\/([^/]+)\/async$/,
      handler: async (_req, [runId], body) => {
        const result = await engine.checkpointAsync(runId ?? "", body);
        return result === "ok"
          ? { status: 200, body: { ok: true } }
          : { status: 409, body: { error: "stale dispatch" } };
      },
    },
    {
      // Sync checkpointing serves durable HTTP endpoints, not `serve()`; the SDK never calls it for functions run here.
      method: "POST",
      pattern: /^\/v1\/checkpoint(\/[^/]+\/steps)?$/,
      handler: async () => ({
        status: 501,
        body: { error: "Durable endpoints are not supported by the embedded executor" },
      }),
    },
    {
      method: "GET",
      pattern: /^\/v1\/events\/([^/]+)\/runs$/,
      handler: async (_req, [eventId]) => ({
        status: 200,
        body: { data: (await engine.listRunsForEvent(eventId ?? "")).map(runJson), metadata: {} },
      }),
    },
    {
      method: "GET",
      pattern: /^\/v1\/events\/([^/]+)$/,
      handler: async (_req, [eventId]) => {
        const event = await engine.getEvent(eventId ?? "");
        return event
          ? { status: 200, body: { data: event } }
          : { status: 404, body: { error: "event not found" } };
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/runs\/([^/]+)$/,
      handler: async (_req, [runId]) => {
        const run = await engine.getRun(runId ?? "");
        return run
          ? { status: 200, body: { data: runJson(run) } }
          : { status: 404, body: { error: "run not found" } };
      },
    },
    {
      method: "DELETE",
      pattern: /^\/v1\/runs\/([^/]+)$/,
      handler: async (_req, [runId]) => cancel(engine, runId ?? ""),
    },
    {
      method: "POST",
      pattern: /^\/v1\/runs\/([^/]+)\/cancel$/,
      handler: async (_req, [runId]) => cancel(engine, runId ?? ""),
    },
    {
      method: "GET",
      pattern: /^\/health$/,
      handler: async () => ({ status: 200, body: { status: "ok" } }),
    },
    {
      method: "GET",
      pattern: /^\/$/,
      handler: async () => ({
        status: 200,
        body: renderRunsPage({
          runs: await engine.recentRuns(50),
          skipped: await engine.recentSkips(50),
          refusedSyncs: engine.refusedSyncs(),
        }),
        contentType: "text/html; charset=utf-8",
      }),
    },
  ];

  return http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://executor.local");
    const route = routes.find(
      (candidate) => candidate.method === req.method && candidate.pattern.test(url.pathname),
    );
    const respond = (reply: Reply) => {
      const text = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
      res.writeHead(reply.status, {
        "content-type": reply.contentType ?? "application/json",
        "x-inngest-server-kind": "dev",
      });
      res.end(text);
    };
    if (!route) {
      respond({ status: 404, body: { error: `No route for ${req.method} ${url.pathname}` } });
      return;
    }
    const params = (route.pattern.exec(url.pathname) ?? [])
      .slice(1)
      .map((part) => decodeURIComponent(part ?? ""));
    readBody(req)
      .then((body) => route.handler(req, params, body))
      .then(respond)
      .catch((err: unknown) => {
        if (err instanceof z.ZodError) {
          respond({ status: 400, body: { error: "Invalid request", issues: err.issues } });
          return;
        }
        if (err instanceof SyncRefusedError) {
          log(err.message);
          respond({ status: 400, body: { error: err.message, code: err.code } });
          return;
        }
        log(`${req.method} ${url.pathname} failed: ${(err as Error).message}`);
        respond({ status: 500, body: { error: (err as Error).message } });
      });
  });
}

async function sendEvents(
  engine: Engine,
  req: http.IncomingMessage,
  body: unknown,
): Promise<Reply> {
  const list = Array.isArray(body) ? body : body === null || body === undefined ? [] : [body];
  const seed = req.headers["x-inngest-event-id-seed"];
  try {
    const ids = await engine.ingestEvents(list, typeof seed === "string" ? seed : undefined);
    return { status: 200, body: { ids, status: 200 } };
  } catch (err) {
    if (err instanceof z.ZodError)
      return {
        status: 400,
        body: { ids: [], status: 400, error: `Invalid event: ${err.issues[0]?.message ?? ""}` },
      };
    throw err;
  }
}

async function cancel(engine: Engine, runId: string): Promise<Reply> {
  const run = await engine.getRun(runId);
  if (!run) return { status: 404, body: { error: "run not found" } };
  const cancelled = await engine.cancelRun(runId);
  return {
    status: 200,
    body: {
      data: { run_id: runId, cancelled, status: cancelled ? "Cancelled" : statusLabel(run.status) },
    },
  };
}

function readBody(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("Request body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      if (!text) return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(
          new z.ZodError([
            { code: "custom", message: "Body is not valid JSON", path: [], input: text },
          ]),
        );
      }
    });
    req.on("error", reject);
  });
}

/** A run as the Dev Server's REST API v1 shows it. */
function runJson(run: RunSummaryRow) {
  return {
    run_id: run.id,
    function_id: run.function_id,
    app_id: run.app_id,
    event_id: run.event_id,
    status: statusLabel(run.status),
    output: run.status === "failed" ? (run.error ?? null) : (run.output ?? null),
    error: run.error ?? null,
    run_started_at: (run.started_at ?? run.created_at)?.toISOString?.() ?? null,
    ended_at: run.ended_at ? run.ended_at.toISOString() : null,
  };
}
