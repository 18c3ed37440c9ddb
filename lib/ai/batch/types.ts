/**
 * The provider-neutral batch client: what a caller submits, the handle it
 * keeps, the status it polls and the per-item results it reads back. Every
 * value that crosses a step boundary (handle, status) is plain JSON with a
 * zod schema, so each call can run in its own durable step with nothing
 * held in memory between them.
 */
import { z } from "zod";

export const BATCH_PROVIDERS = ["openai", "anthropic", "demo"] as const;
export type BatchProvider = (typeof BATCH_PROVIDERS)[number];

/** Both providers accept this (Anthropic's own rule is the stricter one). */
export const CUSTOM_ID_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/** What one provider takes in one batch. */
export interface BatchLimits {
  maxItems: number;
  maxBytes: number;
}

export const batchMessageSchema = z.object({
  role: z.enum(["user", "assistant"]),
  content: z.string(),
});

/** One request of a batch: a prompt in the shape of `lib/ai/prompts.ts`' task prompts, with text content. */
export const batchItemSchema = z.object({
  customId: z
    .string()
    .regex(CUSTOM_ID_PATTERN, "custom ids are 1 to 64 letters, digits, '-' or '_'"),
  system: z.string().optional(),
  messages: z.array(batchMessageSchema).min(1),
  /** Output limit; Anthropic requires one, so it defaults there (see anthropic.ts). */
  maxOutputTokens: z.number().int().positive().optional(),
});
export type BatchItem = z.infer<typeof batchItemSchema>;

export const submitOptionsSchema = z.object({
  /**
   * Names this submission. Submitting again with the same key returns the
   * batch already made for it where the provider can find it (OpenAI and the
   * demo model: by batch metadata), so a retried step does not pay twice.
   */
  key: z.string().min(1).max(64),
  /** Extra metadata for the provider's dashboard (OpenAI: at most 15 keys besides the key). */
  metadata: z.record(z.string().max(64), z.string().max(512)).optional(),
});
export type SubmitOptions = z.infer<typeof submitOptionsSchema>;

/** Everything later steps need to find the batch again. */
export const batchHandleSchema = z.object({
  provider: z.enum(BATCH_PROVIDERS),
  batchId: z.string().min(1),
  modelId: z.string().min(1),
  itemCount: z.number().int().nonnegative(),
  submittedAt: z.iso.datetime(),
});
export type BatchHandle = z.infer<typeof batchHandleSchema>;

export const BATCH_STATES = [
  /** Accepted, not started (OpenAI: validating). */
  "queued",
  "in_progress",
  /** Every item is answered; the provider is writing the results. */
  "finalizing",
  "completed",
  /** The completion window ended first; answered items have results, the rest are `expired`. */
  "expired",
  /** Cancel was asked; the provider is stopping. */
  "cancelling",
  "cancelled",
  /** The provider refused the batch as a whole (e.g. an invalid input file); no item ran. */
  "failed",
] as const;
export type BatchState = (typeof BATCH_STATES)[number];

/** States after which nothing changes and results (if any) can be read. */
export const FINAL_BATCH_STATES: readonly BatchState[] = [
  "completed",
  "expired",
  "cancelled",
  "failed",
];

export function isFinalBatchState(state: BatchState): boolean {
  return FINAL_BATCH_STATES.includes(state);
}

export const batchStatusSchema = z.object({
  state: z.enum(BATCH_STATES),
  /** The provider's own word for it ("validating", "ended", …), for logs. */
  providerStatus: z.string(),
  total: z.number().int().nonnegative(),
  /** Items answered so far, successfully or not. */
  done: z.number().int().nonnegative(),
  succeeded: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  createdAt: z.iso.datetime(),
  /** When items started running, where the provider says (OpenAI); for an expected finish time. */
  startedAt: z.iso.datetime().nullable(),
  /** When the completion window ends. */
  expiresAt: z.iso.datetime().nullable(),
  endedAt: z.iso.datetime().nullable(),
  /** Why a `failed` batch failed, one line per problem. */
  errors: z.array(z.string()),
});
export type BatchStatus = z.infer<typeof batchStatusSchema>;

export const BATCH_ITEM_ERROR_CODES = [
  /** The completion window ended before the item ran. */
  "expired",
  /** The batch was cancelled before the item ran. */
  "cancelled",
  "rate_limited",
  "server_error",
  /** The provider refused this request; sending it again as is will not help. */
  "invalid_request",
  /** No result came back for the item (see {@link collectResults}). */
  "missing",
] as const;
export type BatchItemErrorCode = (typeof BATCH_ITEM_ERROR_CODES)[number];

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export type BatchItemResult =
  | {
      customId: string;
      ok: true;
      text: string;
      /** The provider's stop reason ("stop", "length", "end_turn", "max_tokens", …). */
      finishReason: string | null;
      usage: TokenUsage;
    }
  | {
      customId: string;
      ok: false;
      error: { code: BatchItemErrorCode; message: string; retryable: boolean };
    };

export function itemError(
  customId: string,
  code: BatchItemErrorCode,
  message: string,
): BatchItemResult {
  return { customId, ok: false, error: { code, message, retryable: code !== "invalid_request" } };
}

/**
 * One provider's batch API. Every method takes what it needs as arguments
 * and keeps nothing between calls: `submit` in one step, `poll` in as many
 * as it takes, `results` and `cancel` in others, even in other processes.
 */
export interface BatchClient {
  readonly provider: BatchProvider;
  readonly modelId: string;
  readonly limits: BatchLimits;
  /** Sends the items as one batch. Throws {@link BatchError} `invalid_items` before any call when they break the limits. */
  submit(items: readonly BatchItem[], options: SubmitOptions): Promise<BatchHandle>;
  poll(handle: BatchHandle): Promise<BatchStatus>;
  /**
   * Streams the results once the batch is in a final state (in the
   * provider's order, not the submission's). A `failed` batch yields
   * nothing. Throws `results_not_ready` before the batch ends.
   */
  results(handle: BatchHandle): AsyncIterable<BatchItemResult>;
  /** Asks the provider to stop; a batch that already ended is returned as it is. */
  cancel(handle: BatchHandle): Promise<BatchStatus>;
}

export type BatchErrorCode =
  /** The items break a limit or a rule; nothing was sent. */
  | "invalid_items"
  /** The provider does not know the batch (the offline demo model forgets its batches on restart). */
  | "batch_not_found"
  /** The handle was made by another provider than the one configured now. */
  | "provider_mismatch"
  | "results_not_ready"
  /** The provider answered with an error; `retryable` says whether trying again can help. */
  | "provider_error";

export class BatchError extends Error {
  override name = "BatchError";
  constructor(
    readonly code: BatchErrorCode,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Checks items against the shared rules and a provider's limits before
 * anything is sent: the schema, unique custom ids, the item count.
 */
export function validateItems(items: readonly BatchItem[], limits: BatchLimits): BatchItem[] {
  if (items.length === 0)
    throw new BatchError("invalid_items", "A batch needs at least one item.", false);
  if (items.length > limits.maxItems) {
    throw new BatchError(
      "invalid_items",
      `${items.length} items exceed this provider's limit of ${limits.maxItems} per batch; split them into several batches.`,
      false,
    );
  }
  const seen = new Set<string>();
  return items.map((item, index) => {
    const parsed = batchItemSchema.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new BatchError(
        "invalid_items",
        `Item ${index} (${String(item.customId)}): ${issue?.path.join(".") ?? ""} ${issue?.message ?? "is invalid"}`.trim(),
        false,
      );
    }
    if (seen.has(parsed.data.customId)) {
      throw new BatchError(
        "invalid_items",
        `Custom id ${parsed.data.customId} appears twice; each item needs its own.`,
        false,
      );
    }
    seen.add(parsed.data.customId);
    return parsed.data;
  });
}

/** Throws `invalid_items` when the encoded batch is larger than the provider takes. */
export function checkEncodedSize(bytes: number, limits: BatchLimits): void {
  if (bytes > limits.maxBytes) {
    throw new BatchError(
      "invalid_items",
      `The batch is ${bytes} bytes once encoded; this provider takes at most ${limits.maxBytes}. Split the items into several batches.`,
      false,
    );
  }
}

/** Throws `provider_mismatch` when a handle was made by another provider than `client`'s. */
export function checkHandle(client: BatchClient, handle: BatchHandle): BatchHandle {
  const parsed = batchHandleSchema.parse(handle);
  if (parsed.provider !== client.provider) {
    throw new BatchError(
      "provider_mismatch",
      `Batch ${parsed.batchId} was submitted to ${parsed.provider}, but the configured provider is now ${client.provider}; it can only be read with the configuration that made it.`,
      false,
    );
  }
  return parsed;
}

/**
 * The results of `customIds`, read to the end and keyed by custom id; an
 * id with no result line comes back as a retryable `missing` error. Holds
 * every result in memory: for large batches, iterate `client.results`.
 */
export async function collectResults(
  client: BatchClient,
  handle: BatchHandle,
  customIds: Iterable<string>,
): Promise<Map<string, BatchItemResult>> {
  const wanted = new Set(customIds);
  const results = new Map<string, BatchItemResult>();
  for await (const result of client.results(handle)) {
    if (wanted.has(result.customId)) results.set(result.customId, result);
  }
  for (const customId of wanted) {
    if (!results.has(customId)) {
      results.set(
        customId,
        itemError(customId, "missing", "The provider returned no result for this item."),
      );
    }
  }
  return results;
}

/** Epoch seconds (OpenAI) or an RFC 3339 string (Anthropic) as an ISO string; null when absent. */
export function isoTime(value: number | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return new Date(typeof value === "number" ? value * 1000 : value).toISOString();
}

/**
 * When the batch should finish at its pace so far: the items left at the
 * rate items have been answered since it started, never past the end of
 * its completion window. Null until there is a pace to go by (queued, or
 * nothing answered yet) and once the batch is final.
 */
export function expectedFinish(status: BatchStatus, now = new Date()): string | null {
  if (isFinalBatchState(status.state) || !status.startedAt || status.done === 0) return null;
  if (status.done >= status.total) return now.toISOString();
  const elapsed = now.getTime() - new Date(status.startedAt).getTime();
  if (elapsed <= 0) return null;
  const finish = now.getTime() + ((status.total - status.done) * elapsed) / status.done;
  const windowEnd = status.expiresAt
    ? new Date(status.expiresAt).getTime()
    : Number.POSITIVE_INFINITY;
  return new Date(Math.min(finish, windowEnd)).toISOString();
}
