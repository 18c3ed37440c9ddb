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

const TITLE_LENGTH = 60;
/** A "streaming" answer with no checkpoint for this long has lost its server. */
export const STALE_STREAM_MS = 30_000;
export const STALE_MESSAGE = "The server stopped while writing this answer. The part written so far is kept.";

function titleFrom(text: string) {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > TITLE_LENGTH ? `${line.slice(0, TITLE_LENGTH - 1)}…` : line || "New chat";
}

function toUIMessage(row: { id: string; role: "user" | "assistant"; parts: Prisma.JsonValue }): UIMessage {
  return { id: row.id, role: row.role, parts: row.parts as UIMessage["parts"] };
}

export async function beginTurn(input: {
  ownerId: string;
  request: ChatRequest;
  correlationId: string;
  model: string;
  maxMessageChars: number;
}): Promise<Turn> {
  const { ownerId, request, correlationId, model } = input;
  if (request.action === "submit") {
    const length = messageText(request.message.parts).length;
    if (length === 0) throw new ChatError("invalid_request", "The message is empty.");
    if (length > input.maxMessageChars) {
      throw new ChatError(
        "message_too_long",
        `The message is ${length.toLocaleString("en")} characters long; the limit is ${input.maxMessageChars.toLocaleString("en")}.`,
        413,
      );
    }
  }

  return db.$transaction(async (tx) => {
    const locked = await tx.$queryRaw<Array<{ owner_id: string }>>`
      SELECT owner_id FROM conversations WHERE id = ${request.conversationId}::uuid FOR UPDATE`;
    const conversation = locked[0];
    if (conversation && conversation.owner_id !== ownerId) {
      throw new ChatError("not_found", "This conversation does not exist.", 404);
    }
    if (!conversation) {
      if (request.action !== "submit") throw new ChatError("not_found", "This conversation does not exist.", 404);
      await tx.conversation.create({
        data: { id: request.conversationId, ownerId, title: titleFrom(messageText(request.message.parts)) },
      });
    }

    const rows = await tx.message.findMany({
      where: { conversationId: request.conversationId },
      orderBy: { position: "asc" },
      select: { id: true, role: true, parts: true, status: true, position: true, eventCount: true, updatedAt: true },
    });
    const last = rows.at(-1);
    if (last?.status === "streaming" && Date.now() - last.updatedAt.getTime() > STALE_STREAM_MS) {
      // Its server went away mid-answer: what was checkpointed is kept, as interrupted.
      await tx.message.update({
        where: { id: last.id },
        data: { status: "interrupted", errorCode: "connection_lost", errorMessage: STALE_MESSAGE },
      });
      last.status = "interrupted";
    }
    if (last?.status === "streaming") {
      throw new ChatError("busy", "An answer is still being written in this conversation. Stop it or wait for it.", 409);
    }
    let nextPosition = (last?.position ?? -1) + 1;
    const assistantData = {
      conversationId: request.conversationId,
      role: "assistant" as const,
      parts: [],
      status: "streaming" as const,
      correlationId,
      model,
    };

    let turn: Turn;
    if (request.action === "submit") {
      if (rows.some((row) => row.id === request.message.id)) {
        throw new ChatError("invalid_request", "This message was already sent.", 409);
      }
      await tx.message.create({
        data: {
          id: request.message.id,
          conversationId: request.conversationId,
          position: nextPosition++,
          role: "user",
          parts: request.message.parts,
          correlationId,
        },
      });
      const assistantMessageId = randomUUID();
      await tx.message.create({ data: { ...assistantData, id: assistantMessageId, position: nextPosition } });
      turn = {
        conversationId: request.conversationId,
        assistantMessageId,
        history: [...rows.map(toUIMessage), { id: request.message.id, role: "user", parts: request.message.parts }],
        continuedText: "",
        eventCount: 0,
      };
    } else if (request.action === "regenerate") {
      if (!last) throw new ChatError("nothing_to_continue", "There is nothing to regenerate.", 409);
      const keep = last.role === "assistant" ? rows.slice(0, -1) : rows;
      if (last.role === "assistant") await tx.message.delete({ where: { id: last.id } });
      const assistantMessageId = randomUUID();
      await tx.message.create({
        data: { ...assistantData, id: assistantMessageId, position: (keep.at(-1)?.position ?? -1) + 1 },
      });
      turn = {
        conversationId: request.conversationId,
        assistantMessageId,
        history: keep.map(toUIMessage),
        continuedText: "",
        eventCount: 0,
      };
    } else {
      if (!last || last.role !== "assistant" || !["interrupted", "stopped"].includes(last.status)) {
        throw new ChatError("nothing_to_continue", "Only an interrupted or stopped answer can be continued.", 409);
      }
      await tx.message.update({
        where: { id: last.id },
        data: { status: "streaming", errorCode: null, errorMessage: null, correlationId },
      });
      turn = {
        conversationId: request.conversationId,
        assistantMessageId: last.id,
        history: rows.map(toUIMessage),
        continuedText: messageText(last.parts as Array<{ type: string; text?: string }>),
        eventCount: last.eventCount,
      };
    }
    await tx.conversation.update({ where: { id: request.conversationId }, data: { updatedAt: new Date() } });
    return turn;
  });
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
  private lastWrite = 0;
  private writes: Promise<unknown> = Promise.resolve();
  private finished = false;

  constructor(
    private readonly turn: Turn,
    private readonly correlationId: string,
  ) {
    this.text = turn.continuedText;
    this.events = turn.eventCount;
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
      .then(() =>
        db.message.update({
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
