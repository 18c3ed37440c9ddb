/**
 * Appends a stream's events in small batches, off the token's path: `push`
 * only queues; a timer writes what has queued at most every `intervalMs`,
 * one write at a time and strictly in order. `close` writes the rest together
 * with the final state, so the last events always land before (in the same
 * statement as) the final status.
 *
 * A failed write (the database restarting, say) is retried with backoff and
 * its events are kept in front of the queue: nothing is dropped or
 * reordered, so the log never has a gap. A write the store refuses (it
 * returns false: the writer lost its lease) stops all further writes.
 */
import "server-only";

export interface BatchWriterOptions<E, F> {
  /** Writes a batch (and, on close, the final state); false: refused for good. */
  write: (events: E[], final: F | undefined) => Promise<boolean>;
  /** Resolves once the stream's row exists; false: write nothing, ever. */
  ready?: Promise<boolean>;
  intervalMs: number;
  /** Called once when the store refuses a write. */
  onRefused?: () => void;
  onError?: (error: unknown, attempt: number) => void;
  /** Attempts for the closing write before it is given up (logged). */
  closeAttempts?: number;
}

export class BatchWriter<E, F> {
  private pending: E[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private chain: Promise<void>;
  private enabled = false;
  private refused = false;
  private closed = false;
  private failures = 0;

  constructor(private readonly options: BatchWriterOptions<E, F>) {
    this.chain = (options.ready ?? Promise.resolve(true)).then(
      (ok) => void (this.enabled = ok),
      () => void (this.enabled = false),
    );
  }

  /** True once the store refused a write: the stream belongs to no one here any more. */
  get isRefused(): boolean {
    return this.refused;
  }

  push(event: E) {
    if (this.closed || this.refused) return;
    this.pending.push(event);
    this.timer ??= setTimeout(() => this.schedule(), this.options.intervalMs);
  }

  private schedule() {
    this.timer = undefined;
    // NOTE: once closing, the closing write takes everything queued, so the
    // last events always go in the same statement as the final state.
    this.chain = this.chain.then(() => (this.closed ? undefined : this.writePending(undefined)));
  }

  private async writePending(final: F | undefined): Promise<void> {
    if (!this.enabled || this.refused) return;
    if (this.pending.length === 0 && final === undefined) return;
    const batch = this.pending.splice(0);
    try {
      const accepted = await this.options.write(batch, final);
      this.failures = 0;
      if (!accepted) {
        this.refused = true;
        this.pending = [];
        this.options.onRefused?.();
      }
    } catch (error) {
      this.failures += 1;
      this.options.onError?.(error, this.failures);
      this.pending = batch.concat(this.pending);
      if (final !== undefined) throw error;
      const backoff = Math.min(2000, this.options.intervalMs * 2 ** this.failures);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.schedule(), backoff);
    }
  }

  /**
   * Writes what is queued together with the final state; true when it was
   * stored. Only the first call counts.
   */
  close(final: F): Promise<boolean> {
    if (this.closed) return this.chain.then(() => !this.refused && this.enabled);
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const attempts = this.options.closeAttempts ?? 5;
    this.chain = this.chain.then(async () => {
      for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
          await this.writePending(final);
          return;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
        }
      }
    });
    return this.chain.then(() => this.enabled && !this.refused && this.failures === 0);
  }
}
