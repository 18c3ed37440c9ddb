/**
 * The demo model's HTTP plumbing, shared by the chat completions endpoint
 * and the Batch API: an error that knows its OpenAI error shape, a bounded
 * body reader and a JSON writer.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ZodError } from "zod";
import { errorBody, type ErrorType } from "@/lib/ai/demo-model/protocol";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: ErrorType,
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
  }

  readonly headers: Record<string, string> = {};

  withRetryAfter(seconds: number): this {
    this.headers["retry-after"] = String(seconds);
    return this;
  }
}

/** The whole body, or a 413 {@link HttpError} as soon as it passes `limit` bytes. */
export function readBodyBytes(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume();
        reject(
          new HttpError(
            413,
            `Request body exceeds ${limit} bytes.`,
            "invalid_request_error",
            "request_too_large",
          ),
        );
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return (await readBodyBytes(req, limit)).toString("utf8");
}

/** Parses a JSON body, answering malformed JSON with OpenAI's 400. */
export function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new HttpError(
      400,
      "The request body is not valid JSON.",
      "invalid_request_error",
      "invalid_json",
    );
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

/** Writes `error` in OpenAI's error shape; anything but an {@link HttpError} is logged and becomes a 500. */
export function sendError(
  res: ServerResponse,
  error: unknown,
  headers: Record<string, string> = {},
): HttpError {
  const httpError =
    error instanceof HttpError
      ? error
      : new HttpError(500, "The demo model failed unexpectedly.", "server_error", "internal_error");
  if (!(error instanceof HttpError)) console.error("[demo-model]", error);
  sendJson(
    res,
    httpError.status,
    errorBody(httpError.message, httpError.type, httpError.code, httpError.param),
    { ...headers, ...httpError.headers },
  );
  return httpError;
}

export function headerString(req: IncomingMessage, name: string): string | undefined {
  const raw = req.headers[name];
  return Array.isArray(raw) ? raw.join(";") : raw;
}

/** A 400 naming the first invalid field of a request body, as OpenAI does. */
export function invalidRequest(error: ZodError, prefix = "Invalid request"): HttpError {
  const issue = error.issues[0];
  const param = issue?.path.join(".") || null;
  return new HttpError(
    400,
    `${prefix}: ${param ? `${param}: ` : ""}${issue?.message ?? "malformed body"}`,
    "invalid_request_error",
    "invalid_value",
    param,
  );
}

/** OpenAI's 404 for an unknown object id. */
export function notFound(what: string, id: string, param: string): HttpError {
  return new HttpError(
    404,
    `No ${what} found with id '${id}'.`,
    "not_found_error",
    "not_found",
    param,
  );
}
