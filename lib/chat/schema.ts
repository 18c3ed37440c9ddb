/**
 * What crosses the chat boundary: the body of POST /api/chat, the message
 * metadata streamed back, and the error payloads. Types come from these.
 */
import { z } from "zod";

export const MESSAGE_ID = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/);

export const userTextPartSchema = z.object({ type: z.literal("text"), text: z.string() });

export const chatRequestSchema = z.discriminatedUnion("action", [
  z.object({
    action: z.literal("submit"),
    conversationId: z.uuid(),
    message: z.object({
      id: MESSAGE_ID,
      role: z.literal("user"),
      parts: z.array(userTextPartSchema).min(1).max(20),
    }),
  }),
  z.object({ action: z.literal("regenerate"), conversationId: z.uuid() }),
  z.object({ action: z.literal("continue"), conversationId: z.uuid() }),
]);
export type ChatRequest = z.infer<typeof chatRequestSchema>;

export const MESSAGE_STATUSES = [
  "streaming",
  "complete",
  "stopped",
  "interrupted",
  "failed",
] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export const chatMetadataSchema = z.object({
  correlationId: z.string().optional(),
  model: z.string().optional(),
  status: z.enum(MESSAGE_STATUSES).optional(),
  attempts: z.number().int().optional(),
});
export type ChatMetadata = z.infer<typeof chatMetadataSchema>;

export const CHAT_ERROR_CODES = [
  "invalid_request",
  "message_too_long",
  "unauthorized",
  "not_found",
  "busy",
  "rate_limited",
  "nothing_to_continue",
  "model_unavailable",
  "model_rate_limited",
  "connection_lost",
  "model_error",
] as const;
export type ChatErrorCode = (typeof CHAT_ERROR_CODES)[number];

export class ChatError extends Error {
  override name = "ChatError";
  constructor(
    readonly code: ChatErrorCode,
    message: string,
    readonly status = 400,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** The text of a message's text parts, joined: a continued answer is one text. */
export function messageText(parts: ReadonlyArray<{ type: string; text?: string }>): string {
  return parts
    .filter((part) => part.type === "text")
    .map((part) => part.text ?? "")
    .join("");
}
