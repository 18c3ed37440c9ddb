/**
 * What crosses the chat boundary: the body of POST /api/chat, the message
 * metadata streamed back, and the error payloads. Types come from these.
 */
import { z } from "zod";
import { safeText } from "@/lib/text";

export const MESSAGE_ID = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/);

/** Longest history a browser may send along with a message (see `history` below). */
export const MAX_HISTORY_MESSAGES = 400;
export const MAX_HISTORY_CHARS = 400_000;

export const userTextPartSchema = z.object({ type: z.literal("text"), text: safeText() });

export const chatRequestSchema = z.discriminatedUnion("action", [
  z.object({
    action: z.literal("submit"),
    conversationId: z.uuid(),
    message: z.object({
      id: MESSAGE_ID,
      role: z.literal("user"),
      parts: z.array(userTextPartSchema).min(1).max(20),
    }),
    /**
     * The conversation as the browser shows it (text parts only), optional.
     * The model call starts on it at once; it is used only if the stored
     * history gives the model exactly the same input (see respond.ts).
     */
    history: z
      .array(
        z.object({
          id: MESSAGE_ID,
          role: z.enum(["user", "assistant"]),
          parts: z.array(userTextPartSchema).max(100),
        }),
      )
      .max(MAX_HISTORY_MESSAGES)
      .refine((history) => historyChars(history) <= MAX_HISTORY_CHARS, "The history is too long.")
      .optional(),
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

/**
 * A message's metadata: the `start` chunk carries correlation id and model,
 * the terminal `finish` chunk how the answer ended. The page's first load
 * sets the same fields from the stored row, so the browser has one source.
 */
export const chatMetadataSchema = z.object({
  correlationId: z.string().optional(),
  model: z.string().optional(),
  status: z.enum(MESSAGE_STATUSES).optional(),
  errorCode: z.string().nullish(),
  errorMessage: z.string().nullish(),
});
export type ChatMetadata = z.infer<typeof chatMetadataSchema>;

export const CHAT_ERROR_CODES = [
  "invalid_request",
  "message_too_long",
  "unauthorized",
  "not_found",
  "busy",
  "message_id_taken",
  "rate_limited",
  "nothing_to_continue",
  "model_unavailable",
  "model_rate_limited",
  "connection_lost",
  "model_error",
  "internal_error",
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

type HistoryMessage = {
  id: string;
  role: "user" | "assistant";
  parts: Array<{ type: "text"; text: string }>;
};

/** "message.parts[0].text" from a zod issue path. */
export function fieldName(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((key, i) => (typeof key === "number" ? `[${key}]` : `${i ? "." : ""}${String(key)}`))
    .join("");
}

function historyChars(history: ReadonlyArray<HistoryMessage>): number {
  let chars = 0;
  for (const message of history) for (const part of message.parts) chars += part.text.length;
  return chars;
}

/**
 * The history a browser sends along with a new message: its messages' text
 * parts, or nothing when it is too long to be worth sending (the server then
 * reads it first, as it always can).
 */
export function historyForSpeculation(
  messages: ReadonlyArray<{ id: string; role: string; parts: ReadonlyArray<{ type: string }> }>,
): HistoryMessage[] | undefined {
  if (messages.length > MAX_HISTORY_MESSAGES) return undefined;
  const history: HistoryMessage[] = [];
  for (const { id, role, parts } of messages) {
    if (role !== "user" && role !== "assistant") return undefined;
    const text = parts.flatMap((part) =>
      part.type === "text" && "text" in part && typeof part.text === "string"
        ? [{ type: "text" as const, text: part.text }]
        : [],
    );
    history.push({ id, role, parts: text });
  }
  return historyChars(history) <= MAX_HISTORY_CHARS ? history : undefined;
}
