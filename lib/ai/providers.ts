/**
 * The one place the app gets its language model. Every caller (chat route,
 * Inngest functions) asks here; the choice follows the environment, see
 * `lib/ai/models.ts` for the rules.
 */
import "server-only";
import { resolveBatchClient } from "@/lib/ai/batch/resolve";
import type { BatchClient } from "@/lib/ai/batch/types";
import { publicModelInfo, resolveModel, type ModelInfo, type ResolvedModel } from "@/lib/ai/models";
import { priceTable, type PriceTable } from "@/lib/ai/pricing";
import { env } from "@/lib/env";

let resolved: ResolvedModel | undefined;
let batch: BatchClient | undefined;
let prices: PriceTable | undefined;

function resolveOnce(): ResolvedModel {
  if (!resolved) {
    resolved = resolveModel(env);
    for (const warning of resolved.selection.warnings) console.warn(`[ai] ${warning}`);
  }
  return resolved;
}

/** The configured language model. Throws a ModelConfigError with a clear message when the configuration is incomplete. */
export function languageModel(): ResolvedModel["model"] {
  return resolveOnce().model;
}

/** Which provider and model answer, for the UI ("Offline demo model" vs "OpenAI · gpt-5-mini"). */
export function modelInfo(): ModelInfo {
  return publicModelInfo(resolveOnce().selection);
}

/**
 * The configured provider's batch API, for economy mode (lib/ai/batch/).
 * Throws a ModelConfigError `economy_unavailable` when the provider has none.
 */
export function batchClient(): BatchClient {
  batch ??= resolveBatchClient(env);
  return batch;
}

/** Model prices for job costs: the built-in list prices with AI_PRICES on top (lib/ai/pricing.ts). */
export function modelPrices(): PriceTable {
  prices ??= priceTable(env.AI_PRICES);
  return prices;
}
