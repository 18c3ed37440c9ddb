/**
 * One batch item's model call, the same live and in a provider batch: the
 * summarize prompt with an output cap, and the most that call can cost, so
 * a job's budget can admit only the calls that fit (lib/jobs/limits.ts).
 */
import type { BatchItem } from "@/lib/ai/batch/types";
import { maxInputTokens, worstCaseMicros, type ModelPrice, type UsageMode } from "@/lib/ai/pricing";
import { summarizePrompt, type TaskPrompt } from "@/lib/ai/prompts";

/**
 * Output tokens one item's summary may take. Generous for a few sentences:
 * reasoning models (OpenAI's gpt-5 family) count their reasoning in it too.
 */
export const ITEM_MAX_OUTPUT_TOKENS = 2_048;

/** The call for one item, to spread into `generateText`. */
export function itemPrompt(text: string): TaskPrompt & { maxOutputTokens: number } {
  return { ...summarizePrompt({ text }), maxOutputTokens: ITEM_MAX_OUTPUT_TOKENS };
}

/** A task prompt as one request of a provider batch. */
export function batchRequestOf(
  customId: string,
  prompt: TaskPrompt & { maxOutputTokens?: number },
): BatchItem {
  return {
    customId,
    system: prompt.instructions,
    messages: prompt.messages.map((message) => ({
      role: "user" as const,
      content: String(message.content),
    })),
    ...(prompt.maxOutputTokens ? { maxOutputTokens: prompt.maxOutputTokens } : {}),
  };
}

/** The most a call with this prompt can cost in `mode`, in micro-dollars (0 for an unpriced model). */
export function promptWorstCaseMicros(
  prompt: TaskPrompt & { maxOutputTokens: number },
  price: ModelPrice | undefined,
  mode: UsageMode,
): number {
  const texts = [
    prompt.instructions,
    ...prompt.messages.map((message) => JSON.stringify(message.content)),
  ];
  return worstCaseMicros(
    { inputTokens: maxInputTokens(texts), maxOutputTokens: prompt.maxOutputTokens },
    price,
    mode,
  );
}

/** The most the call for one item can cost in `mode`, in micro-dollars (0 for an unpriced model). */
export function itemWorstCaseMicros(
  text: string,
  price: ModelPrice | undefined,
  mode: UsageMode,
): number {
  return promptWorstCaseMicros(itemPrompt(text), price, mode);
}
