/**
 * HTTP routes of the demo model's Files and Batch APIs, in front of the
 * engine in batch.ts: `POST /v1/files` (multipart), `GET /v1/files/:id`,
 * `GET /v1/files/:id/content`, `DELETE /v1/files/:id`, `POST /v1/batches`,
 * `GET /v1/batches`, `GET /v1/batches/:id`, `POST /v1/batches/:id/cancel`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { DemoBatches } from "@/lib/ai/demo-model/batch";
import {
  batchCreateSchema,
  batchListQuerySchema,
  fileObject,
  fileUploadSchema,
  listObject,
} from "@/lib/ai/demo-model/batch-protocol";
import {
  headerString,
  HttpError,
  invalidRequest,
  parseJson,
  readBody,
  readBodyBytes,
  sendError,
  sendJson,
} from "@/lib/ai/demo-model/http";

/** Room for the multipart envelope around the largest accepted file. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

type Route = { method: string; pattern: RegExp; handle: (match: string[]) => Promise<void> | void };

function methodNotAllowed(method: string, path: string): HttpError {
  return new HttpError(
    405,
    `${method} is not allowed on ${path}.`,
    "invalid_request_error",
    "method_not_allowed",
  );
}

export interface BatchApiContext {
  batches: DemoBatches;
  /** Largest JSON body accepted (uploads have the batch engine's own limit). */
  maxBodyBytes: number;
  /** The header that carries demo directives for one request. */
  faultHeader: string;
}

/** Answers the request if `path` (without any `/v1` prefix) is a Files or Batch API route; false otherwise. */
export function handleBatchApi(
  { batches, maxBodyBytes, faultHeader }: BatchApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams,
): boolean {
  const routes: Route[] = [
    {
      method: "POST",
      pattern: /^\/files$/,
      handle: async () => sendJson(res, 200, await uploadFile(batches, req)),
    },
    {
      method: "GET",
      pattern: /^\/files\/([^/]+)$/,
      handle: ([id]) => sendJson(res, 200, fileObject(batches.files.get(id!))),
    },
    {
      method: "DELETE",
      pattern: /^\/files\/([^/]+)$/,
      handle: async ([id]) => sendJson(res, 200, await batches.files.delete(id!)),
    },
    {
      method: "GET",
      pattern: /^\/files\/([^/]+)\/content$/,
      handle: async ([id]) => {
        const { stream, bytes } = await batches.files.content(id!);
        res.writeHead(200, {
          "content-type": "application/octet-stream",
          "content-length": bytes,
        });
        stream.pipe(res);
      },
    },
    {
      method: "POST",
      pattern: /^\/batches$/,
      handle: async () => {
        const parsed = batchCreateSchema.safeParse(parseJson(await readBody(req, maxBodyBytes)));
        if (!parsed.success) throw invalidRequest(parsed.error);
        sendJson(res, 200, batches.createBatch(parsed.data, headerString(req, faultHeader)));
      },
    },
    {
      method: "GET",
      pattern: /^\/batches$/,
      handle: () => {
        const parsed = batchListQuerySchema.safeParse(Object.fromEntries(query));
        if (!parsed.success) throw invalidRequest(parsed.error, "Invalid query");
        const { data, hasMore } = batches.listBatches(parsed.data.limit, parsed.data.after);
        sendJson(res, 200, listObject(data, hasMore));
      },
    },
    {
      method: "GET",
      pattern: /^\/batches\/([^/]+)$/,
      handle: ([id]) => sendJson(res, 200, batches.batch(id!)),
    },
    {
      method: "POST",
      pattern: /^\/batches\/([^/]+)\/cancel$/,
      handle: ([id]) => sendJson(res, 200, batches.cancelBatch(id!)),
    },
  ];
  const matching = routes.filter((route) => route.pattern.test(path));
  if (matching.length === 0) return false;
  const route = matching.find((candidate) => candidate.method === req.method);
  void (async () => {
    try {
      if (!route) throw methodNotAllowed(req.method ?? "?", path);
      const match = route.pattern.exec(path)!.slice(1).map(decodeURIComponent);
      await route.handle(match);
    } catch (error) {
      // The request body may still be arriving; drain it so the error reaches the client.
      req.resume();
      sendError(res, error);
    }
  })();
  return true;
}

/** `POST /v1/files`: a multipart form with `file` and `purpose`, as the OpenAI SDK sends it. */
async function uploadFile(batches: DemoBatches, req: IncomingMessage) {
  const contentType = headerString(req, "content-type") ?? "";
  if (!contentType.startsWith("multipart/form-data")) {
    throw new HttpError(
      400,
      "Upload files as multipart/form-data with the fields `file` and `purpose`.",
      "invalid_request_error",
      "invalid_content_type",
    );
  }
  const body = await readBodyBytes(req, batches.files.maxFileBytes + MULTIPART_OVERHEAD_BYTES);
  let form: FormData;
  try {
    form = await new Request("http://demo-model/v1/files", {
      method: "POST",
      headers: { "content-type": contentType },
      body: new Uint8Array(body),
    }).formData();
  } catch {
    throw new HttpError(
      400,
      "The multipart body could not be parsed.",
      "invalid_request_error",
      "invalid_multipart",
    );
  }
  const parsed = fileUploadSchema.safeParse({
    purpose: form.get("purpose"),
    file: form.get("file"),
  });
  if (!parsed.success) throw invalidRequest(parsed.error);
  const { file } = parsed.data;
  return batches.files.upload(
    file.name || "upload.jsonl",
    "batch",
    Buffer.from(await file.arrayBuffer()),
  );
}
