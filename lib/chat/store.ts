/**
 * A chat turn in Postgres: `planTurn` reads the conversation (one query) and
 * plans the turn without writing, so the model call can start meanwhile;
 * `beginTurn` writes the user message and the assistant placeholder (status
 * "streaming", with the generating process's lease) so that two tabs cannot
 * start two answers at once and a plan made on stale history is refused.
 */
import "server-only";
import { db } from "@/lib/db";
import { isUniqueViolation } from "@/lib/db/errors";
import { Prisma } from "@/lib/generated/prisma/client";
import {
  CHANGED_MESSAGE,
  MESSAGE_ID_TAKEN_MESSAGE,
  plan,
  type Turn,
  type TurnPlan,
} from "@/lib/chat/plan";
import { LEASE_EXPIRY_SQL, settleDeadAnswers } from "@/lib/chat/liveness";
import { ChatError, messageText, type ChatRequest } from "@/lib/chat/schema";

const TITLE_LENGTH = 60;

const messageSelect = {
  id: true,
  role: true,
  parts: true,
  status: true,
  lastSeq: true,
} as const satisfies Prisma.MessageSelect;

export function titleFrom(text: string) {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > TITLE_LENGTH ? `${line.slice(0, TITLE_LENGTH - 1)}…` : line || "New chat";
}

/**
 * Creates the conversation for its owner, or touches it; another owner's
 * conversation is left alone (the statement then returns no row). The one
 * place conversations are created, by a chat turn or a job started from chat.
 */
export function conversationUpsertSql(conversation: {
  id: string;
  ownerId: string;
  title: string;
}): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO conversations (id, owner_id, title)
    VALUES (${conversation.id}::uuid, ${conversation.ownerId}::uuid, ${conversation.title})
    ON CONFLICT (id) DO UPDATE SET updated_at = now()
    WHERE conversations.owner_id = ${conversation.ownerId}::uuid
    RETURNING id`;
}

/**
 * Reads the conversation (after settling an answer whose server died) and
 * plans the turn, without writing.
 */
export async function planTurn(
  ownerId: string,
  request: ChatRequest,
  assistantMessageId?: string,
): Promise<TurnPlan> {
  await settleDeadAnswers({ conversationId: request.conversationId });
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
  return plan(ownerId, request, conversation?.messages ?? [], assistantMessageId);
}

const changed = () => new ChatError("busy", CHANGED_MESSAGE, 409);

/**
 * Why a new message could not be written although its plan held: its id is
 * taken by a message of another conversation (anyone's: message ids are
 * global), or another turn of this conversation came first.
 */
async function submitConflict(conversationId: string, messageId: string): Promise<ChatError> {
  const holder = await db.message.findUnique({
    where: { id: messageId },
    select: { conversationId: true },
  });
  if (holder && holder.conversationId !== conversationId)
    return new ChatError("message_id_taken", MESSAGE_ID_TAKEN_MESSAGE, 409);
  return changed();
}

/**
 * Writes the planned turn, re-checking the plan against what is there now.
 * The new answer is "streaming" and leased to this process from here on.
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
      select: { ...messageSelect, position: true },
    });
    const now = plan(ownerId, request, rows, planned.assistantMessageId);
    if (now.expectedLastId !== planned.expectedLastId) throw changed();
    const last = rows.at(-1);
    const lease = Prisma.raw(LEASE_EXPIRY_SQL);

    if (request.action === "regenerate") {
      // The new answer takes the place of the one it replaces.
      let position = (last?.position ?? -1) + 1;
      if (last?.role === "assistant") {
        await tx.message.delete({ where: { id: last.id } });
        position = last.position;
      }
      await tx.$executeRaw`
        INSERT INTO messages (id, conversation_id, position, role, parts, status, correlation_id, model, lease_expires_at)
        VALUES (${planned.assistantMessageId}, ${request.conversationId}::uuid, ${position}, 'assistant'::message_role,
                '[]'::jsonb, 'streaming'::message_status, ${meta.correlationId}, ${meta.model}, ${lease})`;
    } else {
      // Continue: a new run on the same message; followers replay from its start.
      await tx.$executeRaw`
        UPDATE messages SET status = 'streaming'::message_status, error_code = NULL, error_message = NULL,
          correlation_id = ${meta.correlationId}, run_seq = last_seq, lease_expires_at = ${lease},
          updated_at = now()
        WHERE id = ${planned.assistantMessageId}`;
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
  const upsert = conversationUpsertSql({
    id: conversationId,
    ownerId,
    title: titleFrom(messageText(request.message.parts)),
  });
  let inserted: Array<{ id: string }>;
  try {
    inserted = await db.$queryRaw<Array<{ id: string }>>`
      WITH conversation AS (${upsert}),
      last AS (
        SELECT id, position FROM messages WHERE conversation_id = ${conversationId}::uuid
        ORDER BY position DESC LIMIT 1
      ),
      base AS (
        SELECT conversation.id AS conversation_id, COALESCE((SELECT position FROM last), -1) AS position
        FROM conversation
        WHERE (SELECT id FROM last) IS NOT DISTINCT FROM ${planned.expectedLastId}
      )
      INSERT INTO messages (id, conversation_id, position, role, parts, status, correlation_id, model, lease_expires_at)
      SELECT ${request.message.id}, base.conversation_id, base.position + 1, 'user'::message_role, ${parts}::jsonb,
             'complete'::message_status, ${meta.correlationId}, NULL, NULL FROM base
      UNION ALL
      SELECT ${planned.assistantMessageId}, base.conversation_id, base.position + 2, 'assistant'::message_role,
             '[]'::jsonb, 'streaming'::message_status, ${meta.correlationId}, ${meta.model},
             ${Prisma.raw(LEASE_EXPIRY_SQL)} FROM base
      RETURNING id`;
  } catch (error) {
    // Another turn took these positions first, or the message id is taken.
    if (isUniqueViolation(error)) throw await submitConflict(conversationId, request.message.id);
    throw error;
  }
  if (inserted.length !== 2) {
    const owned = await db.conversation.count({ where: { id: conversationId, ownerId } });
    if (!owned) throw new ChatError("not_found", "This conversation does not exist.", 404);
    throw changed();
  }
  return planned;
}
