/**
 * A chat turn's lifecycle in Postgres. `beginTurn` validates the request
 * against the conversation's state and writes the user message and an
 * assistant placeholder (status "streaming") in one transaction, under a
 * row lock so two tabs cannot start two answers at once. The recorder then
 * checkpoints the answer as it streams and records how it ended.
 */
import "server-only";
import type { UIMessage } from "ai";
import { randomUUID } from "node:crypto";
import { db } from "@/lib/db";
import { isUniqueViolation } from "@/lib/db/errors";
import type { Prisma } from "@/lib/generated/prisma/client";
import { ChatError, messageText, type ChatRequest, type MessageStatus } from "@/lib/chat/schema";
import { logger } from "@/lib/logger";

export interface Turn {
  conversationId: string;
  assistantMessageId: string;
  /** Everything the model sees, oldest first; for Continue it ends with the partial answer. */
  history: UIMessage[];
  /** The partial answer being continued ("" otherwise). */
  continuedText: string;
  eventCount: number;
}

/** A turn worked out from the conversation as read, before anything is written. */
export interface TurnPlan extends Turn {
  ownerId: string;
  request: ChatRequest;
  /** The conversation's last message when it was read; the write checks it is still the last. */
  expectedLastId: string | null;
}

const TITLE_LENGTH = 60;
/** A "streaming" answer with no checkpoint for this long has lost its server. */
export const STALE_STREAM_MS = 30_000;
export const STALE_MESSAGE =
  "The server stopped while writing this answer. The part written so far is kept.";

const messageSelect = {
  id: true,
  role: true,
  parts: true,
  status: true,
  position: true,
  eventCount: true,
  updatedAt: true,
} as const satisfies Prisma.MessageSelect;
type MessageRow = Prisma.MessageGetPayload<{ select: typeof messageSelect }>;

function titleFrom(text: string) {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > TITLE_LENGTH ? `${line.slice(0, TITLE_LENGTH - 1)}…` : line || "New chat";
}

function toUIMessage(row: {
  id: string;
  role: "user" | "assistant";
  parts: Prisma.JsonValue;
}): UIMessage {
  return { id: row.id, role: row.role, parts: row.parts as UIMessage["parts"] };
}

const isStale = (row: MessageRow) =>
  row.status === "streaming" && Date.now() - row.updatedAt.getTime() > STALE_STREAM_MS;

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

/** What the turn will do given the conversation's messages; throws when it cannot happen. */
function plan(
  ownerId: string,
  request: ChatRequest,
  rows: MessageRow[],
  assistantMessageId: string = randomUUID(),
): TurnPlan {
  const last = rows.at(-1);
  if (last && !isStale(last) && last.status === "streaming") {
    throw new ChatError(
      "busy",
      "An answer is still being written in this conversation. Stop it or wait for it.",
      409,
    );
  }
  const base = {
    ownerId,
    request,
    conversationId: request.conversationId,
    expectedLastId: last?.id ?? null,
  };
  if (request.action === "submit") {
    if (rows.some((row) => row.id === request.message.id)) {
      throw new ChatError("invalid_request", "This message was already sent.", 409);
    }
    return {
      ...base,
      assistantMessageId,
      history: [
        ...rows.map(toUIMessage),
        { id: request.message.id, role: "user", parts: request.message.parts },
      ],
      continuedText: "",
      eventCount: 0,
    };
  }
  if (request.action === "regenerate") {
    if (!last) throw new ChatError("nothing_to_continue", "There is nothing to regenerate.", 409);
    const keep = last.role === "assistant" ? rows.slice(0, -1) : rows;
    return {
      ...base,
      assistantMessageId,
      history: keep.map(toUIMessage),
      continuedText: "",
      eventCount: 0,
    };
  }
  const status = last && isStale(last) ? "interrupted" : last?.status;
  if (!last || last.role !== "assistant" || (status !== "interrupted" && status !== "stopped")) {
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
    eventCount: last.eventCount,
  };
}

/**
 * Reads the conversation (one query) and plans the turn, without writing:
 * the model call can start on this while `beginTurn` writes.
 */
export async function planTurn(
  ownerId: string,
  request: ChatRequest,
  assistantMessageId: string = randomUUID(),
): Promise<TurnPlan> {
  const conversation = await db.conversation.findUnique({
    where: { id: request.conversationId },
    select: { ownerId: true, messages: { orderBy: { position: "asc" }, select: messageSelect } },
  });
  if (conversation && conversation.ownerId !== ownerId) {
    throw new ChatError("not_found", "This conversation does not exist.", 404);
  }
  if (!conversation && request.action !== "submit") {
    throw new ChatError("not_found", "This conversation does not exist.", 404);
  }
  const last = conversation?.messages.at(-1);
  if (last && isStale(last)) {
    // Its server went away mid-answer: what was checkpointed is kept, as interrupted.
    await db.message.updateMany({
      where: { id: last.id, status: "streaming" },
      data: { status: "interrupted", errorCode: "connection_lost", errorMessage: STALE_MESSAGE },
    });
    last.status = "interrupted";
  }
  return plan(ownerId, request, conversation?.messages ?? [], assistantMessageId);
}

/**
 * Writes the planned turn in one transaction under the conversation's row
 * lock, re-checking the plan against what is there now: two tabs cannot
 * start two answers at once, and a plan made on stale history is refused.
 */
export async function beginTurn(
  planned: TurnPlan,
  meta: { correlationId: string; model: string },
): Promise<Turn> {
  if (planned.request.action === "submit") return beginSubmitTurn(planned, planned.request, meta);
  const { ownerId, request } = planned;
  return db.$transaction(async (tx) => {
    const locked = await tx.$queryRaw<Array<{ owner_id: string }>>`
      SELECT owner_id FROM conversations WHERE id = ${request.conversationId}::uuid FOR UPDATE`;
    if (locked[0]?.owner_id !== ownerId) {
      throw new ChatError("not_found", "This conversation does not exist.", 404);
    }

    const rows = await tx.message.findMany({
      where: { conversationId: request.conversationId },
      orderBy: { position: "asc" },
      select: messageSelect,
    });
    const now = plan(ownerId, request, rows, planned.assistantMessageId);
    if (now.expectedLastId !== planned.expectedLastId) {
      throw new ChatError(
        "busy",
        "This conversation changed in another tab. Reload it and try again.",
        409,
      );
    }
    const last = rows.at(-1);
    const assistant = {
      id: planned.assistantMessageId,
      conversationId: request.conversationId,
      role: "assistant" as const,
      parts: [],
      status: "streaming" as const,
      correlationId: meta.correlationId,
      model: meta.model,
    };

    if (request.action === "regenerate") {
      // The new answer takes the place of the one it replaces.
      let position = (last?.position ?? -1) + 1;
      if (last?.role === "assistant") {
        await tx.message.delete({ where: { id: last.id } });
        position = last.position;
      }
      await tx.message.create({ data: { ...assistant, position } });
    } else {
      await tx.message.update({
        where: { id: planned.assistantMessageId },
        data: {
          status: "streaming",
          errorCode: null,
          errorMessage: null,
          correlationId: meta.correlationId,
        },
      });
    }
    await tx.conversation.update({
      where: { id: request.conversationId },
      data: { updatedAt: new Date() },
    });
    return now;
  });
}

/**
 * The common turn, a new message, in one statement (one round trip, the
 * hot path of every chat request): create the conversation if needed (only
 * for its owner), then insert the user message and the assistant placeholder
 * only if the conversation's last message is still the one the plan saw.
 * Two racing turns compete for the same positions and the unique
 * (conversation, position) index lets exactly one win.
 */
async function beginSubmitTurn(
  planned: TurnPlan,
  request: Extract<ChatRequest, { action: "submit" }>,
  meta: { correlationId: string; model: string },
): Promise<Turn> {
  const { ownerId, conversationId } = planned;
  const parts = JSON.stringify(request.message.parts);
  let inserted: Array<{ id: string }>;
  try {
    inserted = await db.$queryRaw<Array<{ id: string }>>`
      WITH conversation AS (
        INSERT INTO conversations (id, owner_id, title)
        VALUES (${conversationId}::uuid, ${ownerId}::uuid, ${titleFrom(messageText(request.message.parts))})
        ON CONFLICT (id) DO UPDATE SET updated_at = now() WHERE conversations.owner_id = ${ownerId}::uuid
        RETURNING id
      ),
      last AS (
        SELECT id, position FROM messages WHERE conversation_id = ${conversationId}::uuid
        ORDER BY position DESC LIMIT 1
      ),
      base AS (
        SELECT conversation.id AS conversation_id, COALESCE((SELECT position FROM last), -1) AS position
        FROM conversation
        WHERE (SELECT id FROM last) IS NOT DISTINCT FROM ${planned.expectedLastId}
      )
      INSERT INTO messages (id, conversation_id, position, role, parts, status, correlation_id, model)
      SELECT ${request.message.id}, base.conversation_id, base.position + 1, 'user'::message_role, ${parts}::jsonb,
             'complete'::message_status,
             ${meta.correlationId}, NULL FROM base
      UNION ALL
      SELECT ${planned.assistantMessageId}, base.conversation_id, base.position + 2, 'assistant'::message_role,
             '[]'::jsonb, 'streaming'::message_status, ${meta.correlationId}, ${meta.model} FROM base
      RETURNING id`;
  } catch (error) {
    // Another turn took these positions (or this message id) first.
    if (isUniqueViolation(error)) {
      throw new ChatError(
        "busy",
        "This conversation changed in another tab. Reload it and try again.",
        409,
      );
    }
    throw error;
  }
  if (inserted.length !== 2) {
    const owned = await db.conversation.count({ where: { id: conversationId, ownerId } });
    if (!owned) throw new ChatError("not_found", "This conversation does not exist.", 404);
    throw new ChatError(
      "busy",
      "This conversation changed in another tab. Reload it and try again.",
      409,
    );
  }
  return planned;
}

const CHECKPOINT_INTERVAL_MS = 400;

/**
 * Checkpoints a streaming answer: the text so far and the number of stream
 * events behind it, written at most every CHECKPOINT_INTERVAL_MS and once
 * more at the end, strictly in order. A crash loses at most one interval.
 */
export class TurnRecorder {
  private text: string;
  private events: number;
  private attempts = 0;
  // The first checkpoint is one interval in: the first tokens go out unhindered.
  private lastWrite = Date.now();
  private writes: Promise<unknown>;
  private enabled = false;
  private finished = false;

  /** `begun` resolves once the turn's rows exist (false: they never will, write nothing). */
  constructor(
    private readonly turn: Turn,
    private readonly correlationId: string,
    begun: Promise<boolean>,
  ) {
    this.text = turn.continuedText;
    this.events = turn.eventCount;
    this.writes = begun.then((ok) => {
      this.enabled = ok;
    });
  }

  get hasText() {
    return this.text.length > this.turn.continuedText.length;
  }

  setAttempts(attempts: number) {
    this.attempts = attempts;
  }

  delta(text: string) {
    this.text += text;
    this.events += 1;
    const now = Date.now();
    if (now - this.lastWrite >= CHECKPOINT_INTERVAL_MS) {
      this.lastWrite = now;
      this.write({});
    }
  }

  /** Records how the answer ended; only the first call counts. */
  finish(status: Exclude<MessageStatus, "streaming">, error?: { code: string; message: string }) {
    if (this.finished) return this.writes;
    this.finished = true;
    this.write({ status, errorCode: error?.code ?? null, errorMessage: error?.message ?? null });
    return this.writes;
  }

  private write(extra: Prisma.MessageUpdateInput) {
    const text = this.text;
    const events = this.events;
    const attempts = this.attempts;
    this.writes = this.writes
      // Off the token's path: the write is prepared after the stream's current work.
      .then(() => new Promise((resolve) => setImmediate(resolve)))
      .then(() =>
        !this.enabled
          ? undefined
          : db.message.update({
              where: { id: this.turn.assistantMessageId },
              data: {
                parts: text ? [{ type: "text", text }] : [],
                eventCount: events,
                ...(attempts ? { attempts } : {}),
                updatedAt: new Date(),
                ...extra,
              },
              select: { id: true },
            }),
      )
      .catch((error: unknown) =>
        logger.error("chat.checkpoint_failed", {
          correlationId: this.correlationId,
          messageId: this.turn.assistantMessageId,
          error,
        }),
      );
  }
}
