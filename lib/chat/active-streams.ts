/**
 * Answers being generated, so Stop can abort the upstream model call. Each
 * process keeps its own streams; a stop is published with Postgres NOTIFY on
 * `dispatch_chat_stop`, so it reaches the instance that is generating the
 * answer whichever instance received the click. A client disconnect never
 * comes here: only an explicit stop does.
 */
import "server-only";
import pg from "pg";
import { db } from "@/lib/db";
import { env } from "@/lib/env";
import { logger } from "@/lib/logger";

const CHANNEL = "dispatch_chat_stop";

interface ActiveStream {
  messageId: string;
  controller: AbortController;
}

const globalForStreams = globalThis as unknown as {
  activeChatStreams?: Map<string, ActiveStream>;
  chatStopListener?: Promise<pg.Client | null>;
};
const active = (globalForStreams.activeChatStreams ??= new Map());

function abortLocal(conversationId: string): boolean {
  const stream = active.get(conversationId);
  if (!stream) return false;
  stream.controller.abort(new DOMException("Stopped by the user", "AbortError"));
  return true;
}

/** One LISTEN connection per process, opened with the first stream; reopened if it drops. */
function listen(): Promise<pg.Client | null> {
  globalForStreams.chatStopListener ??= (async () => {
    const client = new pg.Client({ connectionString: env.DATABASE_URL });
    const reset = () => {
      globalForStreams.chatStopListener = undefined;
      client.end().catch(() => {});
      if (active.size) void listen();
    };
    client.on("error", (error) => {
      logger.warn("chat.stop_listener_lost", { error });
      reset();
    });
    client.on("notification", (message) => {
      if (message.channel === CHANNEL && message.payload) abortLocal(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      return client;
    } catch (error) {
      // Stops still work within this process; the next stream tries again.
      logger.warn("chat.stop_listener_unavailable", { error });
      globalForStreams.chatStopListener = undefined;
      await client.end().catch(() => {});
      return null;
    }
  })();
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
export async function whenListening(): Promise<boolean> {
  return (await listen()) !== null;
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
  const streaming = await db.message.count({ where: { conversationId, status: "streaming" } });
  if (!streaming) return false;
  await db.$executeRaw`SELECT pg_notify(${CHANNEL}, ${conversationId})`;
  return true;
}
