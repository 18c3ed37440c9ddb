/**
 * Live job events for this server process: one dedicated LISTEN connection
 * fans notifications out to every in-process subscriber of a job.
 *
 * A subscriber never trusts a notification's content: it only learns "job X
 * has rows after seq N" and reads the rows from the table. It registers and
 * waits for the LISTEN to be active before its first read, and clears its
 * "dirty" flag before every read, so a NOTIFY that arrives during a replay
 * leads to one more read and nothing is missed or yielded twice. When the
 * connection drops, the hub reconnects with backoff and then wakes every
 * subscriber, which re-reads what was committed in between.
 */
import "server-only";
import pg from "pg";
import { z } from "zod";

const notificationSchema = z.object({ jobId: z.string().min(1), seq: z.number().int().positive() });

export interface HubEvent {
  seq: number;
}

/** Reads up to `limit` events of a job with seq > afterSeq, in seq order. */
export type ReadEvents<E extends HubEvent> = (
  jobId: string,
  afterSeq: number,
  limit: number,
) => Promise<E[]>;

export interface HubOptions<E extends HubEvent> {
  connectionString: string;
  channel: string;
  readEvents: ReadEvents<E>;
  pageSize?: number;
  minBackoffMs?: number;
  onLog?: (level: "info" | "warn", event: string, fields: Record<string, unknown>) => void;
}

/** The longest wait between two attempts to reconnect the LISTEN connection. */
const MAX_BACKOFF_MS = 5_000;

class Subscriber {
  dirty = false;
  private wake: (() => void) | null = null;

  constructor(public cursor: number) {}

  notify() {
    this.dirty = true;
    this.wake?.();
    this.wake = null;
  }

  /** Resolves on the next notification (at once if one came since the last read) or on abort. */
  wait(signal?: AbortSignal): Promise<void> {
    if (this.dirty || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const onAbort = () => resolve();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
    });
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class JobEventsHub<E extends HubEvent> {
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  /**
   * Reads in flight, so subscribers of one job at the same cursor share one
   * query instead of each running their own. A read may only be shared while
   * no notification for its job (and no reconnect) came after it started:
   * otherwise its snapshot might predate a commit the joiner was woken for.
   */
  private readonly inflight = new Map<string, { epoch: string; rows: Promise<E[]> }>();
  private readonly jobEpochs = new Map<string, number>();
  private epochCounter = 0;
  private reconnectEpoch = 0;
  /** The LISTEN connection's server process id (tests terminate it on purpose). */
  backendPid: number | null = null;
  /** How many times the LISTEN connection has been (re)established. */
  connections = 0;

  constructor(private readonly options: HubOptions<E>) {}

  get isClosed(): boolean {
    return this.closed;
  }

  get subscriberCount(): number {
    let count = 0;
    for (const set of this.subscribers.values()) count += set.size;
    return count;
  }

  /** Resolves once the LISTEN is active (connecting lazily, retrying forever). */
  ready(): Promise<void> {
    if (this.client) return Promise.resolve();
    if (this.closed) return Promise.reject(new Error("The job events hub is closed"));
    this.connecting ??= this.connectLoop().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private log(level: "info" | "warn", event: string, fields: Record<string, unknown> = {}) {
    this.options.onLog?.(level, event, fields);
  }

  private async connectLoop(): Promise<void> {
    const min = this.options.minBackoffMs ?? 100;
    const max = MAX_BACKOFF_MS;
    let delay = min;
    while (!this.closed) {
      const client = new pg.Client({
        connectionString: this.options.connectionString,
        application_name: "dispatch-job-events",
        keepAlive: true,
      });
      // NOTE: a pg client without an error listener crashes the process on a dropped connection.
      client.on("error", (error) => this.lost(client, error));
      client.on("end", () => this.lost(client));
      try {
        await client.connect();
        const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
        await client.query(`LISTEN ${client.escapeIdentifier(this.options.channel)}`);
        if (this.closed) {
          await client.end().catch(() => {});
          return;
        }
        client.on("notification", (message) => this.dispatch(message.payload));
        this.client = client;
        this.backendPid = rows[0]?.pid ?? null;
        this.connections += 1;
        if (this.connections > 1)
          this.log("info", "jobs.hub.reconnected", { pid: this.backendPid });
        // Whatever was committed while we were not listening is read now.
        this.wakeAll();
        return;
      } catch (error) {
        this.log("warn", "jobs.hub.connect_failed", { error, retryInMs: delay });
        await client.end().catch(() => {});
        await sleep(delay + Math.random() * delay * 0.2);
        delay = Math.min(max, delay * 2);
      }
    }
  }

  private lost(client: pg.Client, error?: Error) {
    if (this.client !== client) return;
    this.client = null;
    this.backendPid = null;
    if (this.closed) return;
    this.log("warn", "jobs.hub.connection_lost", { error });
    client.end().catch(() => {});
    // A short pause first: a server that is restarting refuses instant reconnects.
    this.reconnectTimer ??= setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.closed && this.subscriberCount > 0) void this.ready().catch(() => {});
    }, this.options.minBackoffMs ?? 100);
  }

  private dispatch(payload: string | undefined) {
    let parsed: z.infer<typeof notificationSchema>;
    try {
      parsed = notificationSchema.parse(JSON.parse(payload ?? ""));
    } catch {
      return;
    }
    const set = this.subscribers.get(parsed.jobId);
    if (!set) return;
    this.jobEpochs.set(parsed.jobId, ++this.epochCounter);
    for (const subscriber of set) if (parsed.seq > subscriber.cursor) subscriber.notify();
  }

  private epochOf(jobId: string): string {
    return `${this.reconnectEpoch}:${this.jobEpochs.get(jobId) ?? 0}`;
  }

  private read(jobId: string, afterSeq: number, limit: number): Promise<E[]> {
    const key = `${jobId}\u0000${afterSeq}\u0000${limit}`;
    const epoch = this.epochOf(jobId);
    const current = this.inflight.get(key);
    if (current && current.epoch === epoch) return current.rows;
    const entry = { epoch, rows: this.options.readEvents(jobId, afterSeq, limit) };
    this.inflight.set(key, entry);
    const forget = () => {
      if (this.inflight.get(key) === entry) this.inflight.delete(key);
    };
    entry.rows.then(forget, forget);
    return entry.rows;
  }

  private wakeAll() {
    this.reconnectEpoch += 1;
    for (const set of this.subscribers.values()) for (const subscriber of set) subscriber.notify();
  }

  /**
   * Events of one job with seq > afterSeq: first the stored ones, then live
   * ones as they commit, until the signal aborts or the consumer stops.
   */
  async *subscribe(
    jobId: string,
    afterSeq: number,
    signal?: AbortSignal,
  ): AsyncGenerator<E, void, undefined> {
    const pageSize = this.options.pageSize ?? 200;
    const subscriber = new Subscriber(afterSeq);
    let set = this.subscribers.get(jobId);
    if (!set) this.subscribers.set(jobId, (set = new Set()));
    set.add(subscriber);
    // A newcomer never joins a read that started before it arrived.
    this.jobEpochs.set(jobId, ++this.epochCounter);
    try {
      await this.ready();
      while (!signal?.aborted && !this.closed) {
        subscriber.dirty = false;
        const rows = await this.read(jobId, subscriber.cursor, pageSize);
        for (const row of rows) {
          if (row.seq <= subscriber.cursor) continue;
          subscriber.cursor = row.seq;
          yield row;
          if (signal?.aborted) return;
        }
        if (rows.length >= pageSize) continue;
        if (this.closed) return;
        await subscriber.wait(signal);
      }
    } finally {
      set.delete(subscriber);
      if (set.size === 0 && this.subscribers.get(jobId) === set) {
        this.subscribers.delete(jobId);
        this.jobEpochs.delete(jobId);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = null;
    this.wakeAll();
    await client?.end().catch(() => {});
    await this.connecting?.catch(() => {});
  }
}
