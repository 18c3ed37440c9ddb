/**
 * The batch client for OpenAI's Batch API through the official `openai`
 * SDK: the items become a JSONL file of `/v1/chat/completions` requests,
 * uploaded with purpose `batch`; the output and error files come back as
 * JSONL. The offline demo model speaks the same API, so it is this client
 * pointed at the demo server.
 */
import OpenAI, { toFile } from "openai";
import { z } from "zod";
import { batchErrorFrom } from "@/lib/ai/batch/errors";
import {
  SdkBatchClient,
  sdkClientOptions,
  type SdkBatchClientOptions,
} from "@/lib/ai/batch/sdk-client";
import {
  BatchError,
  checkEncodedSize,
  checkHandle,
  isFinalBatchState,
  isoTime,
  itemError,
  type BatchClient,
  type BatchHandle,
  type BatchItem,
  type BatchItemResult,
  type BatchLimits,
  type BatchState,
  type BatchStatus,
  type SubmitOptions,
} from "@/lib/ai/batch/types";

/** OpenAI's limits for one batch input file. */
export const OPENAI_BATCH_LIMITS: BatchLimits = {
  maxItems: 50_000,
  maxBytes: 200 * 1024 * 1024,
};

const ENDPOINT = "/v1/chat/completions";
/** The metadata key that names a submission, so a retried submit finds its batch. */
export const SUBMISSION_KEY = "dispatch_key";
/** How many of the newest batches a retried submit looks through for its key. */
const KEY_LOOKUP_LIMIT = 100;

/** `baseURL`: an API base ending in /v1. */
export interface OpenAIBatchClientOptions extends SdkBatchClientOptions {
  provider: "openai" | "demo";
}

const STATES: Record<OpenAI.Batches.Batch["status"], BatchState> = {
  validating: "queued",
  in_progress: "in_progress",
  finalizing: "finalizing",
  completed: "completed",
  expired: "expired",
  cancelling: "cancelling",
  cancelled: "cancelled",
  failed: "failed",
};

/** One line of an output or error file. */
const resultLineSchema = z.looseObject({
  custom_id: z.string(),
  response: z
    .looseObject({
      status_code: z.number().int(),
      body: z.unknown(),
    })
    .nullish(),
  error: z.looseObject({ code: z.string().nullish(), message: z.string().nullish() }).nullish(),
});

const completionBodySchema = z.looseObject({
  choices: z
    .array(
      z.looseObject({
        message: z.looseObject({ content: z.string().nullish() }),
        finish_reason: z.string().nullish(),
      }),
    )
    .min(1),
  usage: z
    .looseObject({ prompt_tokens: z.number().int(), completion_tokens: z.number().int() })
    .nullish(),
});

const errorBodySchema = z.looseObject({
  error: z.looseObject({ message: z.string().nullish() }).nullish(),
});

export class OpenAIBatchClient extends SdkBatchClient implements BatchClient {
  readonly provider: "openai" | "demo";
  private readonly client: OpenAI;

  constructor(options: OpenAIBatchClientOptions) {
    super(options, OPENAI_BATCH_LIMITS, OpenAI);
    this.provider = options.provider;
    this.client = new OpenAI(sdkClientOptions(options, "https://api.openai.com/v1"));
  }

  async submit(items: readonly BatchItem[], options: SubmitOptions): Promise<BatchHandle> {
    const { valid, key, metadata } = this.checkSubmission(items, options);
    const content = Buffer.from(
      valid.map((item) => JSON.stringify(this.requestLine(item))).join("\n") + "\n",
    );
    checkEncodedSize(content.length, this.limits);
    return this.call(async () => {
      const existing = await this.findSubmission(key);
      if (existing) return this.handle(existing, valid.length);
      const file = await this.client.files.create({
        file: await toFile(content, `dispatch-${key}.jsonl`, { type: "application/jsonl" }),
        purpose: "batch",
      });
      const batch = await this.client.batches.create({
        input_file_id: file.id,
        endpoint: ENDPOINT,
        completion_window: "24h",
        metadata: { ...metadata, [SUBMISSION_KEY]: key },
      });
      return this.handle(batch, valid.length);
    });
  }

  async poll(handle: BatchHandle): Promise<BatchStatus> {
    const { batchId } = checkHandle(this, handle);
    return toStatus(await this.call(() => this.client.batches.retrieve(batchId), batchId));
  }

  async *results(handle: BatchHandle): AsyncIterable<BatchItemResult> {
    const { batchId } = checkHandle(this, handle);
    const batch = await this.call(() => this.client.batches.retrieve(batchId), batchId);
    const state = STATES[batch.status];
    if (!isFinalBatchState(state)) {
      throw new BatchError(
        "results_not_ready",
        `Batch ${batchId} is ${batch.status}; results are read once it has ended.`,
        true,
      );
    }
    for (const fileId of [batch.output_file_id, batch.error_file_id]) {
      if (!fileId) continue;
      const response = await this.call(() => this.client.files.content(fileId));
      for await (const line of readLines(response)) yield toResult(line);
    }
  }

  async cancel(handle: BatchHandle): Promise<BatchStatus> {
    const { batchId } = checkHandle(this, handle);
    try {
      return toStatus(await this.client.batches.cancel(batchId));
    } catch (error) {
      // A batch that already ended cannot be cancelled (400); it is what it is.
      if (error instanceof OpenAI.BadRequestError) return this.poll(handle);
      throw batchErrorFrom(error, OpenAI, this.notFoundMessage(batchId));
    }
  }

  private requestLine(item: BatchItem) {
    return {
      custom_id: item.customId,
      method: "POST",
      url: ENDPOINT,
      body: {
        model: this.modelId,
        messages: [
          ...(item.system ? [{ role: "system" as const, content: item.system }] : []),
          ...item.messages,
        ],
        // NOTE: not max_tokens: OpenAI's reasoning models (gpt-5 family) refuse it.
        ...(item.maxOutputTokens ? { max_completion_tokens: item.maxOutputTokens } : {}),
      },
    };
  }

  /** The newest batch made for `key`, if one is among the latest {@link KEY_LOOKUP_LIMIT}. */
  private async findSubmission(key: string): Promise<OpenAI.Batches.Batch | undefined> {
    const page = await this.client.batches.list({ limit: KEY_LOOKUP_LIMIT });
    return page.data.find((batch) => batch.metadata?.[SUBMISSION_KEY] === key);
  }

  private handle(batch: OpenAI.Batches.Batch, itemCount: number): BatchHandle {
    return {
      provider: this.provider,
      batchId: batch.id,
      modelId: this.modelId,
      itemCount: batch.request_counts?.total || itemCount,
      submittedAt: isoTime(batch.created_at)!,
    };
  }

  protected notFoundMessage(batchId: string): string {
    return `The provider does not know batch ${batchId}. The offline demo model keeps batches in memory, so restarting it loses them: submit the items again.`;
  }
}

function toStatus(batch: OpenAI.Batches.Batch): BatchStatus {
  const counts = batch.request_counts ?? { total: 0, completed: 0, failed: 0 };
  return {
    state: STATES[batch.status],
    providerStatus: batch.status,
    total: counts.total,
    done: counts.completed + counts.failed,
    succeeded: counts.completed,
    failed: counts.failed,
    createdAt: isoTime(batch.created_at)!,
    startedAt: isoTime(batch.in_progress_at),
    expiresAt: isoTime(batch.expires_at),
    endedAt: isoTime(
      batch.completed_at ?? batch.expired_at ?? batch.cancelled_at ?? batch.failed_at,
    ),
    errors: (batch.errors?.data ?? []).map((error) =>
      [error.line ? `line ${error.line}` : undefined, error.code, error.message]
        .filter(Boolean)
        .join(": "),
    ),
  };
}

function toResult(raw: unknown): BatchItemResult {
  const line = resultLineSchema.parse(raw);
  const customId = line.custom_id;
  if (line.error) {
    const message = line.error.message ?? line.error.code ?? "The request failed.";
    if (line.error.code === "batch_expired") return itemError(customId, "expired", message);
    if (line.error.code === "batch_cancelled") return itemError(customId, "cancelled", message);
    return itemError(customId, "server_error", message);
  }
  const response = line.response;
  if (!response) return itemError(customId, "missing", "The result line has no response.");
  if (response.status_code === 200) {
    const body = completionBodySchema.safeParse(response.body);
    if (!body.success) {
      return itemError(customId, "server_error", "The provider's answer has no message.");
    }
    const choice = body.data.choices[0]!;
    return {
      customId,
      ok: true,
      text: choice.message.content ?? "",
      finishReason: choice.finish_reason ?? null,
      usage: {
        inputTokens: body.data.usage?.prompt_tokens ?? 0,
        outputTokens: body.data.usage?.completion_tokens ?? 0,
      },
    };
  }
  const message =
    errorBodySchema.safeParse(response.body).data?.error?.message ??
    `The provider answered HTTP ${response.status_code}.`;
  const status = response.status_code;
  if (status === 429) return itemError(customId, "rate_limited", message);
  if (status >= 500) return itemError(customId, "server_error", message);
  return itemError(customId, "invalid_request", message);
}

/** JSON values of a JSONL body, one per line, read as it streams. */
async function* readLines(response: Response): AsyncIterable<unknown> {
  if (!response.body) return;
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let newline: number;
    while ((newline = buffer.indexOf("\n")) !== -1) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line) yield JSON.parse(line);
    }
  }
  const rest = (buffer + decoder.decode()).trim();
  if (rest) yield JSON.parse(rest);
}
