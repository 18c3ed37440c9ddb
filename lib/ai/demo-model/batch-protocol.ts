/**
 * The slice of the OpenAI Files and Batch APIs the demo model speaks: the
 * limits, the request schemas it validates (the batch create body and each
 * line of an input file) and the shapes it writes (file and batch objects,
 * output and error file lines), as the official API documents them.
 */
import { randomBytes } from "node:crypto";
import { z } from "zod";
import {
  chatCompletionRequestSchema,
  completionResponse,
  errorBody,
  type CompletionIdentity,
  type ErrorType,
  type FinishReason,
  type Usage,
} from "@/lib/ai/demo-model/protocol";

/** OpenAI's own limits for one batch input file. */
export const BATCH_MAX_REQUESTS = 50_000;
export const BATCH_MAX_FILE_BYTES = 200 * 1024 * 1024;
/** The only endpoint the demo model batches (it serves no other). */
export const BATCH_ENDPOINT = "/v1/chat/completions";
/** The only completion window OpenAI accepts. */
export const BATCH_COMPLETION_WINDOW = "24h";
/** Input-file validation stops collecting line errors here, so a broken 50,000-line file gives a readable answer. */
export const BATCH_MAX_REPORTED_ERRORS = 100;

export const nowSeconds = () => Math.floor(Date.now() / 1000);
/** An object id in OpenAI's style: `batch_…`, `file-…`, `batch_req_…`. */
export const newId = (prefix: string) => `${prefix}${randomBytes(12).toString("hex")}`;

export const BATCH_STATUSES = [
  "validating",
  "failed",
  "in_progress",
  "finalizing",
  "completed",
  "expired",
  "cancelling",
  "cancelled",
] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

export const FILE_PURPOSES = ["batch", "batch_output"] as const;
export type FilePurpose = (typeof FILE_PURPOSES)[number];

/** OpenAI metadata: at most 16 pairs, keys up to 64 characters, values up to 512. */
const metadataSchema = z
  .record(z.string().max(64), z.string().max(512))
  .refine((value) => Object.keys(value).length <= 16, "at most 16 metadata keys");
export type BatchMetadata = z.infer<typeof metadataSchema>;

export const batchCreateSchema = z.looseObject({
  input_file_id: z.string().min(1),
  endpoint: z.string().min(1),
  completion_window: z.string().min(1),
  metadata: metadataSchema.nullish(),
});
export type BatchCreateRequest = z.infer<typeof batchCreateSchema>;

/**
 * The fields of `POST /v1/files`. Only batch input files are uploaded: the
 * demo model serves no other purpose, and `batch_output` files are its own.
 */
export const fileUploadSchema = z.object({
  purpose: z.literal("batch", {
    error: "purpose must be 'batch': the demo model stores batch input files only",
  }),
  file: z.instanceof(File, { error: "the form needs a `file` part" }),
});

export const batchListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().min(1).optional(),
});

/** One line of a batch input file. */
export const batchInputLineSchema = z.object({
  custom_id: z.string().min(1).max(512),
  method: z.literal("POST"),
  url: z.string(),
  body: chatCompletionRequestSchema,
});
export type BatchInputLine = z.infer<typeof batchInputLineSchema>;

export interface StoredFile {
  id: string;
  filename: string;
  purpose: FilePurpose;
  bytes: number;
  createdAt: number;
}

export function fileObject(file: StoredFile) {
  return {
    id: file.id,
    object: "file" as const,
    bytes: file.bytes,
    created_at: file.createdAt,
    filename: file.filename,
    purpose: file.purpose,
    status: "processed" as const,
    expires_at: null,
    status_details: null,
  };
}

/** An input-file problem, as a failed batch lists it under `errors.data`. */
export interface BatchLineError {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

export interface BatchState {
  id: string;
  status: BatchStatus;
  endpoint: string;
  inputFileId: string;
  completionWindow: string;
  metadata: BatchMetadata | null;
  createdAt: number;
  expiresAt: number;
  inProgressAt?: number;
  finalizingAt?: number;
  completedAt?: number;
  failedAt?: number;
  expiredAt?: number;
  cancellingAt?: number;
  cancelledAt?: number;
  outputFileId?: string;
  errorFileId?: string;
  errors: BatchLineError[];
  counts: { total: number; completed: number; failed: number };
  usage: { inputTokens: number; outputTokens: number };
  model?: string;
}

export function batchObject(batch: BatchState) {
  const { counts, usage } = batch;
  return {
    id: batch.id,
    object: "batch" as const,
    endpoint: batch.endpoint,
    model: batch.model ?? null,
    errors: batch.errors.length > 0 ? { object: "list" as const, data: batch.errors } : null,
    input_file_id: batch.inputFileId,
    completion_window: batch.completionWindow,
    status: batch.status,
    output_file_id: batch.outputFileId ?? null,
    error_file_id: batch.errorFileId ?? null,
    created_at: batch.createdAt,
    in_progress_at: batch.inProgressAt ?? null,
    expires_at: batch.expiresAt,
    finalizing_at: batch.finalizingAt ?? null,
    completed_at: batch.completedAt ?? null,
    failed_at: batch.failedAt ?? null,
    expired_at: batch.expiredAt ?? null,
    cancelling_at: batch.cancellingAt ?? null,
    cancelled_at: batch.cancelledAt ?? null,
    request_counts: { total: counts.total, completed: counts.completed, failed: counts.failed },
    usage: {
      input_tokens: usage.inputTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: usage.outputTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: usage.inputTokens + usage.outputTokens,
    },
    metadata: batch.metadata,
  };
}

export function listObject<T extends { id: string }>(data: T[], hasMore: boolean) {
  return {
    object: "list" as const,
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: hasMore,
  };
}

/** A line of the output file: the row's whole chat completion, as the live endpoint returns it. */
export function outputLine(
  lineId: string,
  customId: string,
  identity: CompletionIdentity,
  text: string,
  finishReason: FinishReason,
  usage: Usage,
) {
  return {
    id: lineId,
    custom_id: customId,
    response: {
      status_code: 200,
      request_id: identity.id,
      body: completionResponse(identity, text, finishReason, usage),
    },
    error: null,
  };
}

/** A line of the error file for a row the endpoint answered with an HTTP error. */
export function httpErrorLine(
  lineId: string,
  customId: string,
  requestId: string,
  status: number,
  error: { message: string; type: ErrorType; code: string | null },
) {
  return {
    id: lineId,
    custom_id: customId,
    response: {
      status_code: status,
      request_id: requestId,
      body: errorBody(error.message, error.type, error.code),
    },
    error: null,
  };
}

export const UNFINISHED_ROW_ERRORS = {
  batch_expired: "This request could not be executed before the completion window expired.",
  batch_cancelled: "This request was not executed because the batch was cancelled.",
} as const;

/** A line of the error file for a row that never ran: the batch expired or was cancelled first. */
export function unfinishedLine(
  lineId: string,
  customId: string,
  code: keyof typeof UNFINISHED_ROW_ERRORS,
) {
  return {
    id: lineId,
    custom_id: customId,
    response: null,
    error: { code, message: UNFINISHED_ROW_ERRORS[code] },
  };
}
