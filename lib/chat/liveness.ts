/**
 * Liveness of an answer being written. The generating process holds a lease
 * on the message row (`lease_expires_at`) and renews it every HEARTBEAT_MS.
 * If the process dies, nobody renews it; LEASE_TTL_MS later the answer is
 * dead, and the first reader that looks (a follower checks every
 * FOLLOWER_CHECK_MS while nothing arrives; a new turn and the conversation's
 * page check when they read it) settles it: the status becomes
 * `interrupted`, the parts are what its log holds, and a terminal `finish`
 * event is appended and NOTIFYed so every follower sees it.
 *
 * The bound: a follower shows `interrupted` at most LEASE_TTL_MS +
 * FOLLOWER_CHECK_MS (6 s) after the generating process's last heartbeat.
 *
 * This is the one place the "stale stream" rule lives.
 */
import "server-only";
import { eventLogPool } from "@/lib/event-log/pool";
import { CHAT_EVENTS_CHANNEL } from "@/lib/chat/event-log";

export const LEASE_TTL_MS = 5_000;
export const HEARTBEAT_MS = 1_000;
export const FOLLOWER_CHECK_MS = 1_000;
/** The longest a follower waits to see a dead server's answer as interrupted. */
export const INTERRUPTED_BOUND_MS = LEASE_TTL_MS + FOLLOWER_CHECK_MS;

export const LOST_SERVER_MESSAGE =
  "The server stopped while writing this answer. The part written so far is kept.";

/** SQL: the lease's new expiry, from the database's clock (instances' clocks may differ). */
export const LEASE_EXPIRY_SQL = `now() + make_interval(secs => ${LEASE_TTL_MS / 1000})`;

/**
 * Renews the lease every HEARTBEAT_MS until `release`. If a renewal finds the
 * answer no longer streaming (declared dead after a stall, or deleted),
 * `onLost` runs once.
 */
export function holdLease(messageId: string, onLost: () => void): { release(): void } {
  let released = false;
  const renew = async () => {
    try {
      const { rowCount } = await eventLogPool().query({
        name: "chat_lease_renew",
        text: `UPDATE messages SET lease_expires_at = ${LEASE_EXPIRY_SQL} WHERE id = $1 AND status = 'streaming'`,
        values: [messageId],
      });
      if (rowCount === 0 && !released) {
        released = true;
        clearInterval(timer);
        onLost();
      }
    } catch {
      // A missed renewal is not a loss: the lease outlives several heartbeats.
    }
  };
  const timer = setInterval(() => void renew(), HEARTBEAT_MS);
  timer.unref();
  return {
    release() {
      released = true;
      clearInterval(timer);
    },
  };
}

const REAP = `
  WITH dead AS (
    SELECT id FROM messages
    WHERE %WHERE% AND status = 'streaming' AND lease_expires_at < now()
    FOR UPDATE SKIP LOCKED
  ), settled AS (
    UPDATE messages m SET
      status = 'interrupted', error_code = 'connection_lost', error_message = $2,
      parts = COALESCE(
        (SELECT jsonb_build_array(jsonb_build_object('type', 'text', 'text',
                  string_agg(e.payload::jsonb->>'delta', '' ORDER BY e.seq)))
         FROM chat_events e
         WHERE e.message_id = m.id AND e.seq > m.run_seq AND e.type = 'text-delta'
         HAVING count(*) > 0),
        m.parts),
      last_seq = m.last_seq + 1, lease_expires_at = NULL, updated_at = now()
    FROM dead WHERE m.id = dead.id
    RETURNING m.id, m.last_seq
  ), appended AS (
    INSERT INTO chat_events (message_id, seq, type, payload)
    SELECT id, last_seq, 'finish', json_build_object('type', 'finish', 'messageMetadata',
      json_build_object('status', 'interrupted', 'errorCode', 'connection_lost', 'errorMessage', $2::text))::text
    FROM settled
  )
  SELECT id, pg_notify('${CHAT_EVENTS_CHANNEL}', json_build_object('id', id, 'seq', last_seq)::text)
  FROM settled`;

/**
 * Settles the dead answers (lease expired while streaming) of a conversation
 * or of one message; returns the ids it settled.
 */
export async function settleDeadAnswers(
  where: { conversationId: string } | { messageId: string },
): Promise<string[]> {
  const byConversation = "conversationId" in where;
  // NOTE: committed asynchronously like the log (lib/event-log/pool.ts): a
  // settlement lost in a crash is made again by the next reader, since the
  // lease is still expired.
  const { rows } = await eventLogPool().query<{ id: string }>({
    text: REAP.replace("%WHERE%", byConversation ? "conversation_id = $1::uuid" : "id = $1"),
    values: [byConversation ? where.conversationId : where.messageId, LOST_SERVER_MESSAGE],
  });
  return rows.map((row) => row.id);
}
