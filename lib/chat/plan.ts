/**
 * What a chat turn will do, worked out from the conversation as read and
 * before anything is written: the model's history, the assistant message it
 * writes, and the checks that refuse it (busy, nothing to continue, a
 * message sent twice). Pure: lib/chat/store.ts reads and writes.
 */
import type { UIMessage } from "ai";
import { randomUUID } from "node:crypto";
import { ChatError, messageText, type ChatRequest, type MessageStatus } from "@/lib/chat/schema";

export interface Turn {
  conversationId: string;
  assistantMessageId: string;
  /** Everything the model sees, oldest first; for Continue it ends with the partial answer. */
  history: UIMessage[];
  /** The partial answer being continued ("" otherwise). */
  continuedText: string;
  /** The answer's log head before this turn (0 for a new answer). */
  lastSeq: number;
}

/** A turn worked out from the conversation as read, before anything is written. */
export interface TurnPlan extends Turn {
  ownerId: string;
  request: ChatRequest;
  /** The conversation's last message when it was read; the write checks it is still the last. */
  expectedLastId: string | null;
}

/** A stored message as planning needs it. */
export interface PlannedRow {
  id: string;
  role: "user" | "assistant";
  parts: unknown;
  status: MessageStatus;
  lastSeq: number;
}

export const BUSY_MESSAGE =
  "An answer is still being written in this conversation. Stop it or wait for it.";
/** Says nothing of whose the other message is: ids cannot be used to probe for conversations. */
export const MESSAGE_ID_TAKEN_MESSAGE =
  "This message's id is already used by another conversation. What you typed is kept: send it again.";
export const CHANGED_MESSAGE =
  "This conversation changed in another tab. What you typed is kept: look at the new messages, then send it again.";

const toUIMessage = (row: PlannedRow): UIMessage => ({
  id: row.id,
  role: row.role,
  parts: row.parts as UIMessage["parts"],
});

export function validateRequest(request: ChatRequest, maxMessageChars: number) {
  if (request.action !== "submit") return;
  const length = messageText(request.message.parts).length;
  if (length === 0) throw new ChatError("invalid_request", "The message is empty.");
  if (length > maxMessageChars) {
    throw new ChatError(
      "message_too_long",
      `The message is ${length.toLocaleString("en")} characters long; the limit is ${maxMessageChars.toLocaleString("en")}.`,
      413,
    );
  }
}

/**
 * The turn given the conversation's messages (dead answers already settled,
 * see lib/chat/liveness.ts); throws when it cannot happen.
 */
export function plan(
  ownerId: string,
  request: ChatRequest,
  rows: readonly PlannedRow[],
  assistantMessageId: string = randomUUID(),
): TurnPlan {
  const last = rows.at(-1);
  if (last?.status === "streaming") throw new ChatError("busy", BUSY_MESSAGE, 409);
  const base = {
    ownerId,
    request,
    conversationId: request.conversationId,
    expectedLastId: last?.id ?? null,
    assistantMessageId,
    continuedText: "",
    lastSeq: 0,
  };
  if (request.action === "submit") {
    if (rows.some((row) => row.id === request.message.id)) {
      throw new ChatError("invalid_request", "This message was already sent.", 409);
    }
    return {
      ...base,
      history: [
        ...rows.map(toUIMessage),
        { id: request.message.id, role: "user", parts: request.message.parts },
      ],
    };
  }
  if (request.action === "regenerate") {
    if (!last) throw new ChatError("nothing_to_continue", "There is nothing to regenerate.", 409);
    const keep = last.role === "assistant" ? rows.slice(0, -1) : rows;
    return { ...base, history: keep.map(toUIMessage) };
  }
  if (
    !last ||
    last.role !== "assistant" ||
    (last.status !== "interrupted" && last.status !== "stopped")
  ) {
    throw new ChatError(
      "nothing_to_continue",
      "Only an interrupted or stopped answer can be continued.",
      409,
    );
  }
  return {
    ...base,
    assistantMessageId: last.id,
    history: rows.map(toUIMessage),
    continuedText: messageText(last.parts as Array<{ type: string; text?: string }>),
    lastSeq: last.lastSeq,
  };
}
