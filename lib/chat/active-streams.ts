/**
 * Answers being generated, so Stop can abort the upstream model call. Each
 * process keeps its own streams; a stop is published with Postgres NOTIFY on
 * `dispatch_chat_stop`, so it reaches the instance that is generating the
 * answer whichever instance received the click. The process listens on the
 * event log hub's connection (one LISTEN connection per process). A client
 * disconnect never comes here: only an explicit stop does.
 */
import "server-only";
import { db } from "@/lib/db";
import { eventLogHub } from "@/lib/event-log/process-hub";
import { settleDeadAnswers } from "@/lib/chat/liveness";
import { logger } from "@/lib/logger";

export const CHAT_STOP_CHANNEL = "dispatch_chat_stop";

interface ActiveStream {
  messageId: string;
  controller: AbortController;
}

const globalForStreams = globalThis as unknown as {
  activeChatStreams?: Map<string, ActiveStream>;
  chatStopListener?: Promise<boolean>;
};
const active = (globalForStreams.activeChatStreams ??= new Map());

function abortLocal(conversationId: string): boolean {
  const stream = active.get(conversationId);
  if (!stream) return false;
  stream.controller.abort(new DOMException("Stopped by the user", "AbortError"));
  return true;
}

/** Listens for stops from other instances, once per process (again after a failure). */
function listen(): Promise<boolean> {
  globalForStreams.chatStopListener ??= eventLogHub()
    .onNotification(CHAT_STOP_CHANNEL, (conversationId) => abortLocal(conversationId))
    .then(
      () => true,
      (error: unknown) => {
        // Stops still work within this process; the next stream tries again.
        logger.warn("chat.stop_listener_unavailable", { error });
        globalForStreams.chatStopListener = undefined;
        return false;
      },
    );
  return globalForStreams.chatStopListener;
}

export function registerStream(
  conversationId: string,
  messageId: string,
  controller: AbortController,
) {
  active.set(conversationId, { messageId, controller });
  void listen();
}

/** Resolves when this process listens for stops from other instances (false if it cannot). */
export function whenListening(): Promise<boolean> {
  return listen();
}

export function unregisterStream(conversationId: string, messageId: string) {
  if (active.get(conversationId)?.messageId === messageId) active.delete(conversationId);
}

/**
 * Stops the conversation's answer in progress: here if this process writes
 * it, otherwise by asking the instance that does. False when none is.
 */
export async function stopStream(conversationId: string): Promise<boolean> {
  if (abortLocal(conversationId)) return true;
  // An answer whose server died cannot be stopped, only settled.
  await settleDeadAnswers({ conversationId });
  const streaming = await db.message.count({ where: { conversationId, status: "streaming" } });
  if (!streaming) return false;
  await db.$executeRaw`SELECT pg_notify(${CHAT_STOP_CHANNEL}, ${conversationId})`;
  return true;
}
