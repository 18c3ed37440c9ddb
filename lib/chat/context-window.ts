/**
 * The policy for long conversations: the model gets the newest messages that
 * fit the context budget, oldest dropped first, whole messages only; the
 * latest message is always kept (it is size-limited on input). When anything
 * was dropped the model is told, so it does not pretend to remember it.
 */
import type { ModelMessage } from "ai";

/** A deliberately simple estimate (≈ 4 characters per token for English). */
export function estimateTokens(message: ModelMessage): number {
  const content =
    typeof message.content === "string"
      ? message.content
      : message.content.map((part) => ("text" in part ? part.text : JSON.stringify(part))).join("");
  return Math.ceil(content.length / 4) + 4;
}

export interface TrimmedHistory {
  messages: ModelMessage[];
  dropped: number;
}

export function trimToContextWindow(
  messages: readonly ModelMessage[],
  budgetTokens: number,
): TrimmedHistory {
  const kept: ModelMessage[] = [];
  let used = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!;
    const cost = estimateTokens(message);
    if (kept.length > 0 && used + cost > budgetTokens) break;
    kept.unshift(message);
    used += cost;
  }
  // A history must not open with an assistant turn cut from its question.
  while (kept.length > 1 && kept[0]!.role === "assistant") kept.shift();
  return { messages: kept, dropped: messages.length - kept.length };
}
