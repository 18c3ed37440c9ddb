/**
 * Which batch client the model configuration selects: the same rules as
 * the language model (`selectModel` in lib/ai/models.ts), so economy mode
 * always batches on the provider and model that live mode calls.
 */
import { AnthropicBatchClient } from "@/lib/ai/batch/anthropic";
import { OpenAIBatchClient } from "@/lib/ai/batch/openai";
import type { BatchClient, BatchLimits } from "@/lib/ai/batch/types";
import {
  economyUnavailableReason,
  ModelConfigError,
  selectModel,
  type ModelConfig,
} from "@/lib/ai/models";

export interface BatchClientOptions {
  fetch?: typeof globalThis.fetch;
  headers?: Record<string, string>;
  maxRetries?: number;
  /** Anthropic's API base; Anthropic's own when unset (tests point it at a fake). */
  anthropicBaseURL?: string;
  /** Lower limits than the provider's, e.g. to keep one step's work bounded. */
  limits?: BatchLimits;
}

/** The batch client for the configured provider. Throws {@link ModelConfigError} `economy_unavailable` for OpenAI-compatible servers. */
export function resolveBatchClient(
  config: ModelConfig,
  options: BatchClientOptions = {},
): BatchClient {
  const selection = selectModel(config);
  const { fetch, headers, maxRetries, limits } = options;
  switch (selection.provider) {
    case "openai":
      return new OpenAIBatchClient({
        provider: "openai",
        modelId: selection.modelId,
        apiKey: config.OPENAI_API_KEY!,
        baseURL: config.OPENAI_BASE_URL,
        fetch,
        headers,
        maxRetries,
        limits,
      });
    case "demo":
      return new OpenAIBatchClient({
        provider: "demo",
        modelId: selection.modelId,
        // The demo server checks no key; the SDK insists on one.
        apiKey: "demo",
        baseURL: config.DEMO_MODEL_URL,
        fetch,
        headers,
        maxRetries,
        limits,
      });
    case "anthropic":
      return new AnthropicBatchClient({
        modelId: selection.modelId,
        apiKey: config.ANTHROPIC_API_KEY!,
        baseURL: options.anthropicBaseURL,
        fetch,
        headers,
        maxRetries,
        limits,
      });
    case "openai-compatible":
      throw new ModelConfigError(
        "economy_unavailable",
        economyUnavailableReason(selection.modelId),
      );
  }
}
