/**
 * A local stand-in for Anthropic's Message Batches endpoints, for tests
 * (no key is available to test against the real API). It speaks the
 * documented shapes: `POST /v1/messages/batches`, `GET …/:id`,
 * `POST …/:id/cancel`, `GET …/:id/results` (JSONL), Anthropic's error body.
 *
 * Each retrieve answers `perPoll` more requests, so a poll loop sees
 * progress. A request's outcome follows its last user message: containing
 * `INVALID` it errors with invalid_request_error, `OVERLOADED` with
 * overloaded_error; otherwise it succeeds with `Echo: <message>`.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";

const createSchema = z.object({
  requests: z
    .array(
      z.object({
        custom_id: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
        params: z.object({
          model: z.string().min(1),
          max_tokens: z.number().int().min(1),
          system: z.string().optional(),
          messages: z
            .array(z.object({ role: z.enum(["user", "assistant"]), content: z.string() }))
            .min(1),
        }),
      }),
    )
    .min(1)
    .max(100_000),
});
type BatchRequest = z.infer<typeof createSchema>["requests"][number];

type Outcome =
  | { type: "succeeded"; message: Record<string, unknown> }
  | { type: "errored"; error: Record<string, unknown> }
  | { type: "canceled" }
  | { type: "expired" };

interface FakeBatch {
  id: string;
  requests: BatchRequest[];
  outcomes: Outcome[];
  createdAt: Date;
  endedAt: Date | null;
  cancelInitiatedAt: Date | null;
}

export interface FakeAnthropic {
  /** The base URL to give the SDK (no /v1). */
  url: string;
  /** Every create request's body, as received. */
  created: Array<z.infer<typeof createSchema>>;
  /** Ends the batch now: unanswered requests expire, as at the end of the 24-hour window. */
  expire(batchId: string): void;
  stop(): Promise<void>;
}

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function answer(request: BatchRequest): Outcome {
  const last = request.params.messages.at(-1)!.content;
  if (last.includes("INVALID")) {
    return {
      type: "errored",
      error: {
        type: "error",
        error: { type: "invalid_request_error", message: "messages: text is invalid" },
        request_id: null,
      },
    };
  }
  if (last.includes("OVERLOADED")) {
    return {
      type: "errored",
      error: {
        type: "error",
        error: { type: "overloaded_error", message: "Overloaded" },
        request_id: null,
      },
    };
  }
  const text = `Echo: ${last}`;
  return {
    type: "succeeded",
    message: {
      id: `msg_${randomBytes(8).toString("hex")}`,
      type: "message",
      role: "assistant",
      model: request.params.model,
      content: [{ type: "text", text, citations: null }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: {
        input_tokens: words(request.params.system ?? "") + words(last),
        output_tokens: words(text),
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 2,
      },
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "request-id": "req_fake" });
  res.end(payload);
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  send(res, status, { type: "error", error: { type, message }, request_id: "req_fake" });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

export async function startFakeAnthropic(
  options: { perPoll?: number } = {},
): Promise<FakeAnthropic> {
  const perPoll = options.perPoll ?? 1;
  const batches = new Map<string, FakeBatch>();
  const created: FakeAnthropic["created"] = [];
  let base = "";

  function end(batch: FakeBatch, unanswered: Outcome["type"]) {
    while (batch.outcomes.length < batch.requests.length) {
      batch.outcomes.push({ type: unanswered } as Outcome);
    }
    batch.endedAt ??= new Date();
  }

  function batchObject(batch: FakeBatch) {
    const count = (type: Outcome["type"]) =>
      batch.outcomes.filter((outcome) => outcome.type === type).length;
    const status = batch.endedAt ? "ended" : batch.cancelInitiatedAt ? "canceling" : "in_progress";
    return {
      id: batch.id,
      type: "message_batch",
      processing_status: status,
      request_counts: {
        processing: batch.requests.length - batch.outcomes.length,
        succeeded: count("succeeded"),
        errored: count("errored"),
        canceled: count("canceled"),
        expired: count("expired"),
      },
      created_at: batch.createdAt.toISOString(),
      expires_at: new Date(batch.createdAt.getTime() + 24 * 3600 * 1000).toISOString(),
      ended_at: batch.endedAt?.toISOString() ?? null,
      cancel_initiated_at: batch.cancelInitiatedAt?.toISOString() ?? null,
      archived_at: null,
      results_url: batch.endedAt ? `${base}/v1/messages/batches/${batch.id}/results` : null,
    };
  }

  const server = createServer((req, res) => {
    void (async () => {
      // The SDK authenticates with `authorization: Bearer` (1.x) or `x-api-key` (older).
      const credential = req.headers["x-api-key"] ?? req.headers.authorization;
      if (!credential || !req.headers["anthropic-version"]) {
        sendError(res, 401, "authentication_error", "a key and anthropic-version are required");
        return;
      }
      const path = (req.url ?? "").split("?")[0]!;
      if (path === "/v1/messages/batches" && req.method === "POST") {
        const parsed = createSchema.safeParse(await readJson(req));
        if (!parsed.success) {
          sendError(res, 400, "invalid_request_error", parsed.error.issues[0]!.message);
          return;
        }
        created.push(parsed.data);
        const batch: FakeBatch = {
          id: `msgbatch_${randomBytes(12).toString("hex")}`,
          requests: parsed.data.requests,
          outcomes: [],
          createdAt: new Date(),
          endedAt: null,
          cancelInitiatedAt: null,
        };
        batches.set(batch.id, batch);
        send(res, 200, batchObject(batch));
        return;
      }
      const match = /^\/v1\/messages\/batches\/([^/]+)(\/cancel|\/results)?$/.exec(path);
      const batch = match ? batches.get(match[1]!) : undefined;
      if (!match || !batch) {
        sendError(res, 404, "not_found_error", `No batch at ${path}`);
        return;
      }
      const action = match[2];
      if (action === "/cancel" && req.method === "POST") {
        if (batch.endedAt) {
          sendError(res, 400, "invalid_request_error", "The batch has already ended.");
          return;
        }
        batch.cancelInitiatedAt = new Date();
        send(res, 200, batchObject(batch));
        return;
      }
      if (action === "/results" && req.method === "GET") {
        if (!batch.endedAt) {
          sendError(res, 400, "invalid_request_error", "The batch has not ended.");
          return;
        }
        res.writeHead(200, { "content-type": "application/binary" });
        res.end(
          batch.requests
            .map((request, index) =>
              JSON.stringify({ custom_id: request.custom_id, result: batch.outcomes[index] }),
            )
            .reverse()
            .join("\n") + "\n",
        );
        return;
      }
      if (!action && req.method === "GET") {
        if (batch.cancelInitiatedAt) end(batch, "canceled");
        for (let step = 0; step < perPoll && !batch.endedAt; step += 1) {
          batch.outcomes.push(answer(batch.requests[batch.outcomes.length]!));
          if (batch.outcomes.length === batch.requests.length) batch.endedAt = new Date();
        }
        send(res, 200, batchObject(batch));
        return;
      }
      sendError(res, 405, "invalid_request_error", `${req.method} is not allowed on ${path}`);
    })().catch((error: unknown) => sendError(res, 500, "api_error", String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    created,
    expire: (batchId) => end(batches.get(batchId)!, "expired"),
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
