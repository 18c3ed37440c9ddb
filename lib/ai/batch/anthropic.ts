/**
 * The batch client for Anthropic's Message Batches API through the official
 * `@anthropic-ai/sdk`: the items travel in the create request itself, the
 * results come back as JSONL from the batch's `results_url`.
 *
 * NOTE: Message Batches carry no metadata, so a submission cannot be found
 * again by its key: a submit step retried after the create call went through
 * (but its answer was lost) makes a second batch. The window is the one
 * HTTP round trip; the job can cancel the orphan from Anthropic's batch list.
 */
import Anthropic from "@anthropic-ai/sdk";
import {
  SdkBatchClient,
  sdkClientOptions,
  type SdkBatchClientOptions,
} from "@/lib/ai/batch/sdk-client";
import {
  BatchError,
  checkEncodedSize,
  checkHandle,
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

/** Anthropic's limits for one Message Batch: 100,000 requests or 256 MB, whichever comes first. */
export const ANTHROPIC_BATCH_LIMITS: BatchLimits = {
  maxItems: 100_000,
  maxBytes: 256 * 1024 * 1024,
};

/** Anthropic requires an output limit on every request; this one fits a summary with room to spare. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 1_024;

export type AnthropicBatchClientOptions = SdkBatchClientOptions;

type MessageBatch = Anthropic.Messages.Batches.MessageBatch;

export class AnthropicBatchClient extends SdkBatchClient implements BatchClient {
  readonly provider = "anthropic" as const;
  private readonly client: Anthropic;

  constructor(options: AnthropicBatchClientOptions) {
    super(options, ANTHROPIC_BATCH_LIMITS, Anthropic);
    this.client = new Anthropic(sdkClientOptions(options, "https://api.anthropic.com"));
  }

  async submit(items: readonly BatchItem[], options: SubmitOptions): Promise<BatchHandle> {
    const { valid } = this.checkSubmission(items, options);
    const requests = valid.map((item) => ({
      custom_id: item.customId,
      params: {
        model: this.modelId,
        max_tokens: item.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS,
        ...(item.system ? { system: item.system } : {}),
        messages: item.messages,
      },
    }));
    checkEncodedSize(Buffer.byteLength(JSON.stringify({ requests })), this.limits);
    const batch = await this.call(() => this.client.messages.batches.create({ requests }));
    return {
      provider: "anthropic",
      batchId: batch.id,
      modelId: this.modelId,
      itemCount: valid.length,
      submittedAt: isoTime(batch.created_at)!,
    };
  }

  async poll(handle: BatchHandle): Promise<BatchStatus> {
    const { batchId } = checkHandle(this, handle);
    return toStatus(await this.call(() => this.client.messages.batches.retrieve(batchId), batchId));
  }

  async *results(handle: BatchHandle): AsyncIterable<BatchItemResult> {
    const { batchId } = checkHandle(this, handle);
    const batch = await this.call(() => this.client.messages.batches.retrieve(batchId), batchId);
    if (batch.processing_status !== "ended" || !batch.results_url) {
      throw new BatchError(
        "results_not_ready",
        `Batch ${batchId} is ${batch.processing_status}; results are read once it has ended.`,
        true,
      );
    }
    const lines = await this.call(() => this.client.messages.batches.results(batchId), batchId);
    for await (const line of lines) yield toResult(line);
  }

  async cancel(handle: BatchHandle): Promise<BatchStatus> {
    const { batchId } = checkHandle(this, handle);
    const batch = await this.call(() => this.client.messages.batches.retrieve(batchId), batchId);
    // Cancelling an ended batch is refused; it is what it is.
    if (batch.processing_status !== "in_progress") return toStatus(batch);
    return toStatus(await this.call(() => this.client.messages.batches.cancel(batchId), batchId));
  }

  protected notFoundMessage(batchId: string): string {
    return `Anthropic does not know batch ${batchId}.`;
  }
}

/**
 * Anthropic reports three processing states; the neutral state of an ended
 * batch follows from how it ended: cancelled if cancel was asked, expired
 * if any request expired, completed otherwise.
 */
function stateOf(batch: MessageBatch): BatchState {
  switch (batch.processing_status) {
    case "in_progress":
      return "in_progress";
    case "canceling":
      return "cancelling";
    case "ended":
      if (batch.cancel_initiated_at) return "cancelled";
      if (batch.request_counts.expired > 0) return "expired";
      return "completed";
  }
}

function toStatus(batch: MessageBatch): BatchStatus {
  const counts = batch.request_counts;
  const failed = counts.errored + counts.canceled + counts.expired;
  return {
    state: stateOf(batch),
    providerStatus: batch.processing_status,
    total: counts.processing + counts.succeeded + failed,
    done: counts.succeeded + failed,
    succeeded: counts.succeeded,
    failed,
    createdAt: isoTime(batch.created_at)!,
    // NOTE: Anthropic starts a batch on creation and has no separate start time.
    startedAt: isoTime(batch.created_at),
    expiresAt: isoTime(batch.expires_at),
    endedAt: isoTime(batch.ended_at),
    errors: [],
  };
}

function toResult(
  line: Anthropic.Messages.Batches.MessageBatchIndividualResponse,
): BatchItemResult {
  const { custom_id: customId, result } = line;
  switch (result.type) {
    case "succeeded": {
      const { message } = result;
      return {
        customId,
        ok: true,
        text: message.content
          .flatMap((block) => (block.type === "text" ? [block.text] : []))
          .join(""),
        finishReason: message.stop_reason,
        usage: {
          // Cache reads and writes are input too; the price table prices them as input.
          inputTokens:
            message.usage.input_tokens +
            (message.usage.cache_creation_input_tokens ?? 0) +
            (message.usage.cache_read_input_tokens ?? 0),
          outputTokens: message.usage.output_tokens,
        },
      };
    }
    case "errored": {
      const { type, message } = result.error.error;
      if (type === "rate_limit_error") return itemError(customId, "rate_limited", message);
      if (type === "api_error" || type === "overloaded_error" || type === "timeout_error") {
        return itemError(customId, "server_error", message);
      }
      return itemError(customId, "invalid_request", message);
    }
    case "canceled":
      return itemError(customId, "cancelled", "The batch was cancelled before this request ran.");
    case "expired":
      return itemError(customId, "expired", "The batch expired before this request ran.");
  }
}
