/**
 * The slice of the OpenAI Chat Completions API the demo model speaks: the
 * request schema it validates, and the response, chunk and error shapes it
 * writes. Unknown request fields are accepted and ignored, as OpenAI-
 * compatible servers do.
 */
import { z } from "zod";
import type { DemoMessage } from "@/lib/ai/demo-model/compose";

export const DEMO_MODEL_ID = "dispatch-demo";
export const DEMO_MODEL_OWNER = "dispatch";

const textPart = z.object({ type: z.literal("text"), text: z.string() });
const otherPart = z.looseObject({ type: z.string() });
const content = z.union([z.string(), z.array(z.union([textPart, otherPart])), z.null()]).optional();

const message = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
  content,
});

export const chatCompletionRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(message).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  n: z.number().int().min(1).max(1).nullish(),
  response_format: z
    .looseObject({
      type: z.enum(["text", "json_object", "json_schema"]),
      json_schema: z.looseObject({ schema: z.unknown().optional() }).optional(),
    })
    .nullish(),
});

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

/** Messages as plain text, the way the composer reads them; non-text parts are dropped. */
export function toDemoMessages(request: ChatCompletionRequest): DemoMessage[] {
  return request.messages.map((m) => ({
    role: m.role === "developer" ? "system" : m.role === "function" ? "tool" : m.role,
    content:
      typeof m.content === "string"
        ? m.content
        : (m.content ?? [])
            .map((part) => (part.type === "text" && typeof part.text === "string" ? part.text : ""))
            .join(""),
  }));
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export type FinishReason = "stop" | "length";

export interface CompletionIdentity {
  id: string;
  created: number;
  model: string;
}

export function completionResponse(
  identity: CompletionIdentity,
  text: string,
  finishReason: FinishReason,
  usage: Usage,
) {
  return {
    ...identity,
    object: "chat.completion" as const,
    system_fingerprint: "dispatch-demo",
    choices: [
      {
        index: 0,
        message: { role: "assistant" as const, content: text, refusal: null },
        logprobs: null,
        finish_reason: finishReason,
      },
    ],
    usage,
  };
}

export function completionChunk(
  identity: CompletionIdentity,
  delta: { role?: "assistant"; content?: string },
  finishReason: FinishReason | null,
  includeUsage: boolean,
) {
  return {
    ...identity,
    object: "chat.completion.chunk" as const,
    system_fingerprint: "dispatch-demo",
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    // OpenAI sends `usage: null` on every chunk but the last when usage is requested.
    ...(includeUsage ? { usage: null } : {}),
  };
}

export function usageChunk(identity: CompletionIdentity, usage: Usage) {
  return {
    ...identity,
    object: "chat.completion.chunk" as const,
    system_fingerprint: "dispatch-demo",
    choices: [],
    usage,
  };
}

export function sseEvent(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

export const SSE_DONE = "data: [DONE]\n\n";

export type ErrorType =
  "invalid_request_error" | "rate_limit_error" | "server_error" | "not_found_error";

/** OpenAI's error body: `{ error: { message, type, param, code } }`. */
export function errorBody(
  message: string,
  type: ErrorType,
  code: string | null = null,
  param: string | null = null,
) {
  return { error: { message, type, param, code } };
}

export function modelsResponse(created: number) {
  return {
    object: "list" as const,
    data: [{ id: DEMO_MODEL_ID, object: "model" as const, created, owned_by: DEMO_MODEL_OWNER }],
  };
}
