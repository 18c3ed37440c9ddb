/**
 * An answer's event log: the UI message stream chunks of an assistant
 * message, numbered per message from 1 (`chat_events`), with the head kept
 * on the message row (`last_seq`). Only the process holding the answer's
 * lease appends, in batches (lib/event-log/batch-writer.ts); each batch is
 * one statement that inserts the rows, moves the head and NOTIFYs
 * `{id, seq}` on commit, and is refused once the answer is no longer
 * streaming (stopped elsewhere, or declared dead by lib/chat/liveness.ts).
 * Followers read the rows through the process's hub (lib/event-log/hub.ts).
 *
 * Retention: once an answer has ended, its message row holds the final
 * parts, and its events are kept for EVENTS_GRACE_MS so late followers can
 * still replay the end; then `compactFinishedAnswers` deletes them.
 */
import "server-only";
import type { EventLog } from "@/lib/event-log/hub";
import { durably, eventLogPool } from "@/lib/event-log/pool";
import type { MessageStatus } from "@/lib/chat/schema";

export const CHAT_EVENTS_CHANNEL = "dispatch_chat_events";
/** How long a finished answer's events stay replayable before compaction. */
export const EVENTS_GRACE_MS = 10 * 60_000;

export interface ChatLogEvent {
  seq: number;
  type: string;
  /** The chunk's JSON, exactly as the browser receives it. */
  payload: string;
}

export const chatEventLog: EventLog<ChatLogEvent> = {
  channel: CHAT_EVENTS_CHANNEL,
  async read(messageId, afterSeq, limit) {
    const { rows } = await eventLogPool().query<ChatLogEvent>({
      name: "chat_events_read",
      text: "SELECT seq, type, payload FROM chat_events WHERE message_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
      values: [messageId, afterSeq, limit],
    });
    return rows;
  },
};

/** How an answer ended, written with its last batch. */
export interface FinalState {
  status: Exclude<MessageStatus, "streaming">;
  text: string;
  errorCode: string | null;
  errorMessage: string | null;
  attempts: number;
}

const APPEND = `
  WITH head AS (
    UPDATE messages SET last_seq = $2 WHERE id = $1 AND status = 'streaming' RETURNING id
  ), appended AS (
    INSERT INTO chat_events (message_id, seq, type, payload)
    SELECT head.id, e.seq, e.type, e.payload
    FROM head, unnest($3::int[], $4::text[], $5::text[]) AS e(seq, type, payload)
  )
  SELECT pg_notify($6, $7) FROM head`;

const APPEND_FINAL = `
  WITH head AS (
    UPDATE messages SET last_seq = $2, status = $8::message_status,
      parts = CASE WHEN $9::text = '' THEN '[]'::jsonb
                   ELSE jsonb_build_array(jsonb_build_object('type', 'text', 'text', $9::text)) END,
      error_code = $10, error_message = $11,
      attempts = CASE WHEN $12::int > 0 THEN $12::int ELSE attempts END,
      lease_expires_at = NULL, updated_at = now()
    WHERE id = $1 AND status = 'streaming' RETURNING id
  ), appended AS (
    INSERT INTO chat_events (message_id, seq, type, payload)
    SELECT head.id, e.seq, e.type, e.payload
    FROM head, unnest($3::int[], $4::text[], $5::text[]) AS e(seq, type, payload)
  )
  SELECT pg_notify($6, $7) FROM head`;

/**
 * Appends events (and, with `final`, ends the answer) in one statement.
 * False when the answer is no longer streaming: nothing was written.
 */
export async function appendChatEvents(
  messageId: string,
  events: readonly ChatLogEvent[],
  final?: FinalState,
): Promise<boolean> {
  const last = events.at(-1);
  // A final write always carries the answer's terminal event.
  if (!last) return true;
  const head = last.seq;
  const values: unknown[] = [
    messageId,
    head,
    events.map((event) => event.seq),
    events.map((event) => event.type),
    events.map((event) => event.payload),
    CHAT_EVENTS_CHANNEL,
    JSON.stringify({ id: messageId, seq: head }),
  ];
  if (final) {
    values.push(final.status, final.text, final.errorCode, final.errorMessage, final.attempts);
  }
  // The final state must survive a crash; the batches before it need not (see pool.ts).
  const { rowCount } = final
    ? await durably({ text: APPEND_FINAL, values })
    : await eventLogPool().query({ text: APPEND, values });
  return rowCount === 1;
}

let lastCompaction = 0;

/**
 * Deletes the events of answers that ended more than EVENTS_GRACE_MS ago
 * (their message rows hold the final parts). Runs at most once a minute per
 * process, whoever calls it.
 */
export async function compactFinishedAnswers(now = Date.now()): Promise<number> {
  if (now - lastCompaction < 60_000) return 0;
  lastCompaction = now;
  const { rowCount } = await eventLogPool().query({
    text: `DELETE FROM chat_events e USING messages m
           WHERE e.message_id = m.id AND m.status <> 'streaming'
             AND e.created_at < now() - make_interval(secs => $1::float8 / 1000)
             AND m.updated_at < now() - make_interval(secs => $1::float8 / 1000)`,
    values: [EVENTS_GRACE_MS],
  });
  return rowCount ?? 0;
}
