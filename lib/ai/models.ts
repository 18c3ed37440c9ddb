/**
 * Model resolution as a pure function of configuration: which provider and
 * model id the settings select, and the AI SDK language model for them.
 * `lib/ai/providers.ts` applies it to the app's validated environment; tests
 * and scripts call it with their own configuration.
 *
 * AI_PROVIDER=auto picks, in order: OpenAI if OPENAI_API_KEY is set, else
 * Anthropic if ANTHROPIC_API_KEY is set, else the OpenAI-compatible server at
 * OPENAI_COMPATIBLE_BASE_URL, else the offline demo model at DEMO_MODEL_URL.
 */
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { LanguageModelV4 } from "@ai-sdk/provider";
import { DEMO_MODEL_ID } from "@/lib/ai/demo-model/protocol";
import type { Env } from "@/lib/env-schema";

export type ModelConfig = Pick<
  Env,
  | "AI_PROVIDER"
  | "AI_MODEL"
  | "OPENAI_API_KEY"
  | "OPENAI_BASE_URL"
  | "ANTHROPIC_API_KEY"
  | "OPENAI_COMPATIBLE_BASE_URL"
  | "OPENAI_COMPATIBLE_API_KEY"
  | "DEMO_MODEL_URL"
>;

export type ProviderName = "openai" | "anthropic" | "openai-compatible" | "demo";

export const DEFAULT_MODEL_IDS = {
  openai: "gpt-5-mini",
  anthropic: "claude-haiku-4-5",
  demo: DEMO_MODEL_ID,
} as const;

const PROVIDER_LABELS: Record<ProviderName, string> = {
  openai: "OpenAI",
  anthropic: "Anthropic",
  "openai-compatible": "OpenAI-compatible server",
  demo: "Offline demo model",
};

/** What the configuration selects; safe to show (no keys, no URLs). */
export interface ModelInfo {
  provider: ProviderName;
  modelId: string;
  /** e.g. "OpenAI · gpt-5-mini" or "Offline demo model". */
  label: string;
  isDemo: boolean;
}

export interface ModelSelection extends ModelInfo {
  /** Why this provider: "AI_PROVIDER=anthropic", "auto: OPENAI_API_KEY is set", … */
  reason: string;
  /** Configuration that was ignored, worth a log line. */
  warnings: string[];
}

export type ModelConfigErrorCode =
  | "missing_api_key"
  | "missing_base_url"
  | "missing_model"
  /** The configured provider has no batch API (lib/ai/batch/). */
  | "economy_unavailable";

export class ModelConfigError extends Error {
  override name = "ModelConfigError";
  constructor(
    readonly code: ModelConfigErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function info(provider: ProviderName, modelId: string): ModelInfo {
  const isDemo = provider === "demo";
  return {
    provider,
    modelId,
    label: isDemo ? PROVIDER_LABELS.demo : `${PROVIDER_LABELS[provider]} · ${modelId}`,
    isDemo,
  };
}

function autoProvider(config: ModelConfig): { provider: ProviderName; reason: string } {
  if (config.OPENAI_API_KEY) return { provider: "openai", reason: "auto: OPENAI_API_KEY is set" };
  if (config.ANTHROPIC_API_KEY)
    return { provider: "anthropic", reason: "auto: ANTHROPIC_API_KEY is set" };
  if (config.OPENAI_COMPATIBLE_BASE_URL) {
    return { provider: "openai-compatible", reason: "auto: OPENAI_COMPATIBLE_BASE_URL is set" };
  }
  return { provider: "demo", reason: "auto: no provider is configured" };
}

/** Which provider and model the configuration selects. Throws {@link ModelConfigError} when it is incomplete. */
export function selectModel(config: ModelConfig): ModelSelection {
  const { provider, reason } =
    config.AI_PROVIDER === "auto"
      ? autoProvider(config)
      : { provider: config.AI_PROVIDER, reason: `AI_PROVIDER=${config.AI_PROVIDER}` };
  const warnings: string[] = [];
  switch (provider) {
    case "openai":
      if (!config.OPENAI_API_KEY) {
        throw new ModelConfigError(
          "missing_api_key",
          "AI_PROVIDER=openai needs OPENAI_API_KEY. Set it in .env, or set AI_PROVIDER=auto to use the offline demo model when no key is configured.",
        );
      }
      return { ...info("openai", config.AI_MODEL ?? DEFAULT_MODEL_IDS.openai), reason, warnings };
    case "anthropic":
      if (!config.ANTHROPIC_API_KEY) {
        throw new ModelConfigError(
          "missing_api_key",
          "AI_PROVIDER=anthropic needs ANTHROPIC_API_KEY. Set it in .env, or set AI_PROVIDER=auto to use the offline demo model when no key is configured.",
        );
      }
      return {
        ...info("anthropic", config.AI_MODEL ?? DEFAULT_MODEL_IDS.anthropic),
        reason,
        warnings,
      };
    case "openai-compatible":
      if (!config.OPENAI_COMPATIBLE_BASE_URL) {
        throw new ModelConfigError(
          "missing_base_url",
          "AI_PROVIDER=openai-compatible needs OPENAI_COMPATIBLE_BASE_URL, the server's API base (e.g. http://127.0.0.1:11434/v1 for Ollama).",
        );
      }
      if (!config.AI_MODEL) {
        throw new ModelConfigError(
          "missing_model",
          `The OpenAI-compatible server at ${config.OPENAI_COMPATIBLE_BASE_URL} needs AI_MODEL, the model id it serves (e.g. llama3.2 for Ollama; GET /v1/models lists them).`,
        );
      }
      return { ...info("openai-compatible", config.AI_MODEL), reason, warnings };
    case "demo":
      if (config.AI_MODEL && config.AI_MODEL !== DEMO_MODEL_ID) {
        warnings.push(
          `AI_MODEL=${config.AI_MODEL} is ignored: no provider is configured, so the offline demo model (${DEMO_MODEL_ID}) answers. Set OPENAI_API_KEY, ANTHROPIC_API_KEY or OPENAI_COMPATIBLE_BASE_URL to use it.`,
        );
      }
      return { ...info("demo", DEMO_MODEL_ID), reason, warnings };
  }
}

export interface ModelOptions {
  /** Custom fetch, e.g. to add tracing; the default is global fetch. */
  fetch?: typeof globalThis.fetch;
  /** Headers sent with every request of this model. */
  headers?: Record<string, string>;
}

export interface ResolvedModel {
  /** Every provider here implements the AI SDK's language model specification v3. */
  model: LanguageModelV4;
  selection: ModelSelection;
}

/** The AI SDK language model the configuration selects. */
export function resolveModel(config: ModelConfig, options: ModelOptions = {}): ResolvedModel {
  const selection = selectModel(config);
  const { fetch, headers } = options;
  switch (selection.provider) {
    case "openai": {
      const openai = createOpenAI({
        apiKey: config.OPENAI_API_KEY,
        baseURL: config.OPENAI_BASE_URL,
        fetch,
        headers,
      });
      return { model: openai(selection.modelId), selection };
    }
    case "anthropic": {
      const anthropic = createAnthropic({ apiKey: config.ANTHROPIC_API_KEY, fetch, headers });
      return { model: anthropic(selection.modelId), selection };
    }
    case "openai-compatible": {
      const provider = createOpenAICompatible({
        name: "openai-compatible",
        baseURL: config.OPENAI_COMPATIBLE_BASE_URL!,
        apiKey: config.OPENAI_COMPATIBLE_API_KEY,
        includeUsage: true,
        fetch,
        headers,
      });
      return { model: provider.chatModel(selection.modelId), selection };
    }
    case "demo": {
      // NOTE: the demo model is reached over HTTP like any other server, so
      // the code path the app exercises offline is the production one.
      const provider = createOpenAICompatible({
        name: "demo",
        baseURL: config.DEMO_MODEL_URL,
        includeUsage: true,
        // The demo model fills `json_schema` response formats (structured.ts).
        supportsStructuredOutputs: true,
        fetch,
        headers,
      });
      return { model: provider.chatModel(selection.modelId), selection };
    }
  }
}

export type EconomyMode = { available: true } | { available: false; reason: string };

/**
 * Whether jobs can run in economy mode (the provider's batch API, half
 * price, hours of latency) with this selection: OpenAI, Anthropic and the
 * demo model have a batch API; OpenAI-compatible servers do not.
 */
export function economyMode(selection: ModelInfo): EconomyMode {
  if (selection.provider !== "openai-compatible") return { available: true };
  return { available: false, reason: economyUnavailableReason(selection.modelId) };
}

export function economyUnavailableReason(modelId: string): string {
  return `Economy mode is unavailable with this provider: an OpenAI-compatible server (${modelId}) has no batch API. Run the job now, or configure OpenAI, Anthropic or the offline demo model.`;
}

/** The part of a selection that is safe to send to the browser. */
export function publicModelInfo(selection: ModelInfo): ModelInfo {
  const { provider, modelId, label, isDemo } = selection;
  return { provider, modelId, label, isDemo };
}
