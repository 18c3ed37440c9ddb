/**
 * Records an answer as it streams: every UI message chunk gets the next
 * sequence number of the answer's log and goes to the browser as an SSE
 * frame at once, while the log is written in batches behind it
 * (BATCH_INTERVAL_MS). The answer's end is a terminal `finish` chunk whose
 * metadata says how it ended; it is written in the same statement as the
 * final status and parts. While it streams, the process holds the answer's
 * lease (lib/chat/liveness.ts).
 */
import "server-only";
import type { UIMessageChunk } from "ai";
import { BatchWriter } from "@/lib/event-log/batch-writer";
import { appendChatEvents, type ChatLogEvent, type FinalState } from "@/lib/chat/event-log";
import { holdLease } from "@/lib/chat/liveness";
import type { Turn } from "@/lib/chat/plan";
import { sseFrame } from "@/lib/chat/sse";
import type { ChatMetadata, MessageStatus } from "@/lib/chat/schema";
import { env } from "@/lib/env";
import { logger } from "@/lib/logger";

/** A batch at most this often: small enough that followers lag little, large enough to be cheap. */
export const BATCH_INTERVAL_MS = 25;
/** The text part id of a continued answer's earlier text, in the continuing run's log. */
const CONTINUED_PART_ID = "continued";

export type EndStatus = Exclude<MessageStatus, "streaming">;

export class AnswerRecorder {
  private seq: number;
  private text: string;
  private attempts = 0;
  private readonly writer: BatchWriter<ChatLogEvent, FinalState>;
  private lease: { release(): void } | undefined;
  private ended: string | undefined;

  /**
   * `begun` resolves once the turn's rows exist (false: they never will, so
   * nothing is written). `onLost` runs if the answer stops being this
   * process's (declared dead after a stall).
   */
  constructor(
    private readonly turn: Turn,
    private readonly correlationId: string,
    begun: Promise<boolean>,
    private readonly onLost: () => void,
  ) {
    this.seq = turn.lastSeq;
    this.text = turn.continuedText;
    this.writer = new BatchWriter<ChatLogEvent, FinalState>({
      intervalMs: BATCH_INTERVAL_MS,
      ready: begun.then((ok) => {
        if (ok) this.lease = holdLease(turn.assistantMessageId, () => this.lost());
        return ok;
      }),
      write: (events, final) =>
        appendChatEvents(
          turn.assistantMessageId,
          // The benchmark's baseline: only the terminal event, with the final state.
          env.BENCH_CHAT_EVENT_LOG === "off" ? (final ? events.slice(-1) : []) : events,
          final,
        ),
      onRefused: () => this.lost(),
      onError: (error, attempt) =>
        logger.warn("chat.log_write_failed", {
          correlationId,
          messageId: turn.assistantMessageId,
          attempt,
          error,
        }),
    });
    if (turn.continuedText) {
      // A continuing run starts with the text it continues, so a follower
      // that replays the run (from a reload) rebuilds the whole answer.
      const id = CONTINUED_PART_ID;
      this.log({ type: "start", messageId: turn.assistantMessageId });
      this.log({ type: "text-start", id });
      this.log({ type: "text-delta", id, delta: turn.continuedText });
      this.log({ type: "text-end", id });
    }
  }

  get hasText() {
    return this.text.length > this.turn.continuedText.length;
  }

  get isLost() {
    return this.writer.isRefused;
  }

  setAttempts(attempts: number) {
    this.attempts = attempts;
  }

  private lost() {
    this.lease?.release();
    this.onLost();
  }

  private log(chunk: UIMessageChunk): string {
    const payload = JSON.stringify(chunk);
    const seq = ++this.seq;
    this.writer.push({ seq, type: chunk.type, payload });
    return sseFrame(seq, payload);
  }

  /** Logs a chunk of the answer; returns its SSE frame. */
  chunk(chunk: UIMessageChunk): string {
    if (chunk.type === "text-delta") this.text += chunk.delta;
    return this.log(chunk);
  }

  /**
   * Ends the answer: the terminal chunk is logged and written with the final
   * status; returns its SSE frame. Only the first call counts.
   */
  async finish(status: EndStatus, error?: { code: string; message: string }): Promise<string> {
    if (this.ended) return this.ended;
    const metadata: ChatMetadata = {
      status,
      errorCode: error?.code ?? null,
      errorMessage: error?.message ?? null,
    };
    this.ended = this.log({ type: "finish", messageMetadata: metadata });
    // NOTE: the lease is held until the final write landed: released before,
    // a slow write could see the answer declared dead under it.
    const stored = await this.writer.close({
      status,
      text: this.text,
      errorCode: metadata.errorCode ?? null,
      errorMessage: metadata.errorMessage ?? null,
      attempts: this.attempts,
    });
    this.lease?.release();
    if (!stored && !this.writer.isRefused)
      logger.error("chat.final_write_failed", {
        correlationId: this.correlationId,
        messageId: this.turn.assistantMessageId,
      });
    return this.ended;
  }
}
