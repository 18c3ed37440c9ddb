/**
 * The offline demo model as an OpenAI-compatible HTTP server (node:http, no
 * framework): `POST /v1/chat/completions` (SSE or JSON), `GET /v1/models`,
 * and the Files and Batch APIs (batch-api.ts).
 * Every stream is paced by timers, so fifty concurrent streams cost fifty
 * timers, and a client that disconnects stops its stream at once.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { DemoBatches, type DemoBatchOptions } from "@/lib/ai/demo-model/batch";
import { handleBatchApi } from "@/lib/ai/demo-model/batch-api";
import type { DemoTask } from "@/lib/ai/demo-model/compose";
import {
  injectedFailure,
  planCompletion,
  requestDirectives,
  unknownModel,
} from "@/lib/ai/demo-model/completion";
import {
  FaultLedger,
  parseDirectiveList,
  requestKey,
  type FaultDirective,
} from "@/lib/ai/demo-model/directives";
import {
  headerString,
  HttpError,
  invalidRequest,
  parseJson,
  readBody,
  sendError,
  sendJson,
} from "@/lib/ai/demo-model/http";
import {
  chatCompletionRequestSchema,
  completionChunk,
  completionResponse,
  DEMO_MODEL_ID,
  errorBody,
  modelsResponse,
  SSE_DONE,
  sseEvent,
  toDemoMessages,
  usageChunk,
  type CompletionIdentity,
  type FinishReason,
  type Usage,
} from "@/lib/ai/demo-model/protocol";

export const DEFAULT_TTFT_MS = 300;
export const DEFAULT_TOKENS_PER_SECOND = 40;
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** Request headers that override the pace or inject faults for one request. */
export const DEMO_HEADERS = {
  fault: "x-demo-fault",
  ttftMs: "x-demo-ttft-ms",
  tokensPerSecond: "x-demo-tokens-per-second",
} as const;

export interface DemoModelOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Time to first token, in milliseconds. */
  ttftMs?: number;
  /** Streaming pace; 0 sends every token at once. */
  tokensPerSecond?: number;
  /** Directives applied to every request, e.g. `"fail-500 every=10"` (see directives.ts). */
  faults?: string;
  maxBodyBytes?: number;
  /** Pace, limits and storage of the Batch API (batch.ts). */
  batch?: DemoBatchOptions;
  /** Called once per chat completion request when it ends, however it ends. */
  onRequestEnd?: (record: DemoRequestRecord) => void;
}

export type DemoOutcome = "completed" | "aborted" | "dropped" | "rejected";

export interface DemoRequestRecord {
  id: string;
  outcome: DemoOutcome;
  status: number;
  stream: boolean;
  task?: DemoTask;
  /** Content tokens written to the client. */
  tokensSent: number;
  /** Content tokens the full reply has. */
  tokensPlanned: number;
  correlationId?: string;
}

export interface DemoModelStats {
  activeRequests: number;
  requests: number;
  outcomes: Record<DemoOutcome, number>;
  tokensSent: number;
}

export interface DemoModelServer {
  /** Base URL of the API, ending in `/v1`, as OpenAI clients expect it. */
  url: string;
  port: number;
  stats(): DemoModelStats;
  stop(): Promise<void>;
}

function headerInteger(req: IncomingMessage, name: string): number | undefined {
  const raw = req.headers[name];
  if (raw === undefined) return undefined;
  const value = Number(Array.isArray(raw) ? raw[0] : raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new HttpError(
      400,
      `Header ${name} must be a non-negative number.`,
      "invalid_request_error",
      "invalid_header",
    );
  }
  return value;
}

export async function startDemoModel(options: DemoModelOptions = {}): Promise<DemoModelServer> {
  const host = options.host ?? "127.0.0.1";
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const configured = parseDirectiveList(options.faults);
  const basePace = {
    ttftMs: configured.pace.ttftMs ?? options.ttftMs ?? DEFAULT_TTFT_MS,
    tokensPerSecond:
      configured.pace.tokensPerSecond ?? options.tokensPerSecond ?? DEFAULT_TOKENS_PER_SECOND,
  };
  const ledger = new FaultLedger();
  const batches = new DemoBatches(options.batch ?? {}, configured.faults, ledger);
  const batchApi = { batches, maxBodyBytes, faultHeader: DEMO_HEADERS.fault };
  const createdAt = Math.floor(Date.now() / 1000);
  const stats: DemoModelStats = {
    activeRequests: 0,
    requests: 0,
    outcomes: { completed: 0, aborted: 0, dropped: 0, rejected: 0 },
    tokensSent: 0,
  };

  function finish(record: DemoRequestRecord): void {
    stats.activeRequests -= 1;
    stats.outcomes[record.outcome] += 1;
    stats.tokensSent += record.tokensSent;
    options.onRequestEnd?.(record);
  }

  async function handleChatCompletion(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const record: DemoRequestRecord = {
      id: `chatcmpl-${randomUUID().replaceAll("-", "")}`,
      outcome: "rejected",
      status: 200,
      stream: false,
      tokensSent: 0,
      tokensPlanned: 0,
      correlationId: headerString(req, "x-correlation-id"),
    };
    stats.requests += 1;
    stats.activeRequests += 1;
    let ended = false;
    const end = (outcome: DemoOutcome) => {
      if (ended) return;
      ended = true;
      record.outcome = outcome;
      finish(record);
    };
    try {
      const json = parseJson(await readBody(req, maxBodyBytes));
      const parsed = chatCompletionRequestSchema.safeParse(json);
      if (!parsed.success) throw invalidRequest(parsed.error);
      const request = parsed.data;
      if (request.model !== DEMO_MODEL_ID) throw unknownModel(request.model);
      record.stream = request.stream === true;
      const messages = toDemoMessages(request);

      const directives = requestDirectives(
        configured.faults,
        messages,
        headerString(req, DEMO_HEADERS.fault),
      );
      const pace = {
        ttftMs:
          headerInteger(req, DEMO_HEADERS.ttftMs) ?? directives.pace.ttftMs ?? basePace.ttftMs,
        tokensPerSecond:
          headerInteger(req, DEMO_HEADERS.tokensPerSecond) ??
          directives.pace.tokensPerSecond ??
          basePace.tokensPerSecond,
      };
      const faults = ledger.select(directives.faults, requestKey(request.model, request.messages));
      const failure = injectedFailure(faults);
      if (failure) throw failure;

      const { task, tokens, finishReason, usage } = planCompletion(request, messages);
      record.task = task;
      record.tokensPlanned = tokens.length;
      const identity: CompletionIdentity = {
        id: record.id,
        created: Math.floor(Date.now() / 1000),
        model: DEMO_MODEL_ID,
      };
      const plan: StreamPlan = {
        tokens,
        pace,
        drop: faults.find((fault) => fault.kind === "drop-after"),
        stall: faults.find((fault) => fault.kind === "stall-ms"),
      };
      if (record.stream) {
        streamCompletion(
          res,
          identity,
          plan,
          finishReason,
          usage,
          request.stream_options?.include_usage === true,
          record,
          end,
        );
      } else {
        respondWhole(res, identity, plan, finishReason, usage, record, end);
      }
    } catch (error) {
      record.status = sendError(res, error, { "x-request-id": record.id }).status;
      end("rejected");
    }
  }

  const server = createServer((req, res) => {
    const [rawPath = "/", rawQuery = ""] = (req.url ?? "/").split("?", 2);
    const path = rawPath.replace(/\/+$/, "");
    const apiPath = path.replace(/^\/v1(?=\/)/, "");
    if (handleBatchApi(batchApi, req, res, apiPath, new URLSearchParams(rawQuery))) return;
    if (path === "/v1/chat/completions" || path === "/chat/completions") {
      if (req.method !== "POST") {
        sendJson(
          res,
          405,
          errorBody(
            "Use POST for chat completions.",
            "invalid_request_error",
            "method_not_allowed",
          ),
          {
            allow: "POST",
          },
        );
        return;
      }
      void handleChatCompletion(req, res);
      return;
    }
    if ((path === "/v1/models" || path === "/models") && req.method === "GET") {
      sendJson(res, 200, modelsResponse(createdAt));
      return;
    }
    if (
      (path === "/v1/models/" + DEMO_MODEL_ID || path === "/models/" + DEMO_MODEL_ID) &&
      req.method === "GET"
    ) {
      sendJson(res, 200, modelsResponse(createdAt).data[0]);
      return;
    }
    if (path === "/health" || path === "") {
      sendJson(res, 200, { ok: true, model: DEMO_MODEL_ID, offline: true });
      return;
    }
    sendJson(
      res,
      404,
      errorBody(`Unknown endpoint ${req.method} ${path}.`, "not_found_error", "unknown_url"),
    );
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}/v1`,
    port,
    stats: () => structuredClone(stats),
    stop: async () => {
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      await batches.stop();
    },
  };
}

interface StreamPlan {
  tokens: string[];
  pace: { ttftMs: number; tokensPerSecond: number };
  drop?: FaultDirective;
  stall?: FaultDirective;
}

/**
 * Writes the reply as SSE chunks on schedule. Token i is due at
 * ttft + i / tps (plus the stall, once reached); a late timer sends every
 * token already due in one write, so the pace holds under load.
 */
function streamCompletion(
  res: ServerResponse,
  identity: CompletionIdentity,
  plan: StreamPlan,
  finishReason: FinishReason,
  usage: Usage,
  includeUsage: boolean,
  record: DemoRequestRecord,
  end: (outcome: DemoOutcome) => void,
): void {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "x-request-id": record.id,
    "x-demo-model": "offline",
  });
  res.flushHeaders();

  const { tokens, pace, drop, stall } = plan;
  const interval = pace.tokensPerSecond > 0 ? 1000 / pace.tokensPerSecond : 0;
  const dropAt = drop && drop.value <= tokens.length ? drop.value : undefined;
  const start = performance.now();
  const dueAt = (index: number) =>
    start + pace.ttftMs + index * interval + (stall && index >= stall.after ? stall.value : 0);
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;

  res.on("close", () => {
    clearTimeout(timer);
    if (!res.writableFinished) end(record.outcome === "dropped" ? "dropped" : "aborted");
  });

  const opening = () =>
    sseEvent(completionChunk(identity, { role: "assistant", content: "" }, null, includeUsage));

  const pump = () => {
    timer = undefined;
    if (res.destroyed) return;
    const now = performance.now();
    let out = "";
    while (sent < tokens.length && sent !== dropAt && dueAt(sent) <= now) {
      if (sent === 0) out += opening();
      out += sseEvent(completionChunk(identity, { content: tokens[sent]! }, null, includeUsage));
      sent += 1;
    }
    record.tokensSent = sent;
    if (sent === dropAt) {
      record.outcome = "dropped";
      // NOTE: destroy only once the tokens before the drop are flushed, so the client gets exactly N.
      if (out) res.write(out, () => res.destroy());
      else res.destroy();
      return;
    }
    if (sent === tokens.length) {
      if (sent === 0) out += opening();
      out += sseEvent(completionChunk(identity, {}, finishReason, includeUsage));
      if (includeUsage) out += sseEvent(usageChunk(identity, usage));
      out += SSE_DONE;
      res.end(out);
      end("completed");
      return;
    }
    if (out) res.write(out);
    timer = setTimeout(pump, Math.max(0, dueAt(sent) - performance.now()));
  };
  timer = setTimeout(pump, Math.max(0, dueAt(0) - performance.now()));
}

/** Non-streaming: the whole reply after the time the stream would have taken. */
function respondWhole(
  res: ServerResponse,
  identity: CompletionIdentity,
  plan: StreamPlan,
  finishReason: FinishReason,
  usage: Usage,
  record: DemoRequestRecord,
  end: (outcome: DemoOutcome) => void,
): void {
  const { tokens, pace, drop, stall } = plan;
  const interval = pace.tokensPerSecond > 0 ? 1000 / pace.tokensPerSecond : 0;
  const dropping = drop !== undefined && drop.value <= tokens.length;
  const generated = dropping ? drop.value : tokens.length;
  const delay =
    pace.ttftMs +
    Math.max(0, generated - 1) * interval +
    (stall && stall.after <= generated ? stall.value : 0);
  const timer = setTimeout(() => {
    if (dropping) {
      record.outcome = "dropped";
      res.destroy();
      return;
    }
    record.tokensSent = tokens.length;
    sendJson(res, 200, completionResponse(identity, tokens.join(""), finishReason, usage), {
      "x-request-id": record.id,
      "x-demo-model": "offline",
    });
    end("completed");
  }, delay);
  res.on("close", () => {
    clearTimeout(timer);
    if (!res.writableFinished) end(record.outcome === "dropped" ? "dropped" : "aborted");
  });
}
