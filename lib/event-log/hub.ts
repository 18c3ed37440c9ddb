/**
 * Live delivery for every event log (job events, chat answers): one dedicated
 * LISTEN connection per server process fans notifications out to all the
 * in-process subscribers of every log.
 *
 * A log is a table of rows numbered per stream (`id`) from 1, and a NOTIFY
 * channel whose payload is `{id, seq}`: "stream `id` has rows up to `seq`".
 * A subscriber never trusts the payload beyond that: it reads the rows from
 * the table. It registers and waits for the LISTEN to be active before its
 * first read, and clears its "dirty" flag before every read, so a NOTIFY that
 * arrives during a replay leads to one more read and nothing is missed or
 * yielded twice. When the connection drops, the hub reconnects with backoff
 * and wakes every subscriber, which re-reads what was committed in between.
 *
 * Other notifications (chat's stop requests) can share the same connection
 * through `onNotification`, so a process still holds one LISTEN connection.
 */
import "server-only";
import pg from "pg";
import { z } from "zod";

export const logNotificationSchema = z.object({
  id: z.string().min(1),
  seq: z.number().int().positive(),
});
export type LogNotification = z.infer<typeof logNotificationSchema>;

export interface LogEvent {
  seq: number;
}

/** A log as the hub sees it: its NOTIFY channel and how to read its rows. */
export interface EventLog<E extends LogEvent> {
  channel: string;
  /** Up to `limit` events of stream `id` with seq > afterSeq, in seq order. */
  read(id: string, afterSeq: number, limit: number): Promise<E[]>;
}

export interface HubOptions {
  connectionString: string;
  pageSize?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  onLog?: (level: "info" | "warn", event: string, fields: Record<string, unknown>) => void;
}

class Subscriber {
  dirty = false;
  private wake: (() => void) | null = null;

  constructor(public cursor: number) {}

  notify() {
    this.dirty = true;
    this.wake?.();
    this.wake = null;
  }

  /**
   * Resolves on the next notification (at once if one came since the last
   * read), on abort, or after `timeoutMs` (false then).
   */
  wait(signal?: AbortSignal, timeoutMs?: number): Promise<boolean> {
    if (this.dirty || signal?.aborted) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (woken: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.wake = null;
        resolve(woken);
      };
      const onAbort = () => done(true);
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => done(false), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.wake = () => done(true);
    });
  }
}

export interface SubscribeOptions {
  signal?: AbortSignal;
  /**
   * Called when nothing arrived for `idleMs` (chat uses it to check that the
   * writer still holds its lease); the subscription then reads again.
   */
  onIdle?: () => Promise<void> | void;
  idleMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const keyOf = (channel: string, id: string) => `${channel}\u0000${id}`;

export class EventLogHub {
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** Channels to LISTEN on; each is added on first use and kept. */
  private readonly channels = new Set<string>();
  private readonly listening = new Map<string, Promise<void>>();
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  /**
   * Reads in flight, so subscribers of one stream at the same cursor share one
   * query instead of each running their own. A read may only be shared while
   * no notification for its stream (and no reconnect) came after it started:
   * otherwise its snapshot might predate a commit the joiner was woken for.
   */
  private readonly inflight = new Map<string, { epoch: string; rows: Promise<LogEvent[]> }>();
  private readonly streamEpochs = new Map<string, number>();
  private epochCounter = 0;
  private reconnectEpoch = 0;
  /** The LISTEN connection's server process id (tests terminate it on purpose). */
  backendPid: number | null = null;
  /** How many times the LISTEN connection has been (re)established. */
  connections = 0;

  constructor(private readonly options: HubOptions) {}

  get isClosed(): boolean {
    return this.closed;
  }

  get subscriberCount(): number {
    let count = 0;
    for (const set of this.subscribers.values()) count += set.size;
    return count;
  }

  /** Resolves once the connection is up (connecting lazily, retrying forever). */
  ready(): Promise<void> {
    if (this.client) return Promise.resolve();
    if (this.closed) return Promise.reject(new Error("The event log hub is closed"));
    this.connecting ??= this.connectLoop().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  /** Resolves once `channel` is listened to on the current connection. */
  async listen(channel: string): Promise<void> {
    for (;;) {
      if (!this.channels.has(channel)) {
        this.channels.add(channel);
        this.listening.delete(channel);
      }
      await this.ready();
      const client = this.client;
      if (!client) continue;
      let listened = this.listening.get(channel);
      if (!listened) {
        listened = client.query(`LISTEN ${client.escapeIdentifier(channel)}`).then(() => {});
        this.listening.set(channel, listened);
      }
      try {
        await listened;
        if (this.client === client) return;
      } catch (error) {
        if (this.listening.get(channel) === listened) this.listening.delete(channel);
        if (this.closed) throw error;
      }
    }
  }

  /** Calls `handler` with each payload NOTIFYed on `channel`; returns the unsubscribe. */
  async onNotification(channel: string, handler: (payload: string) => void): Promise<() => void> {
    let set = this.handlers.get(channel);
    if (!set) this.handlers.set(channel, (set = new Set()));
    set.add(handler);
    await this.listen(channel);
    return () => set.delete(handler);
  }

  private log(level: "info" | "warn", event: string, fields: Record<string, unknown> = {}) {
    this.options.onLog?.(level, event, fields);
  }

  private async connectLoop(): Promise<void> {
    const min = this.options.minBackoffMs ?? 100;
    const max = this.options.maxBackoffMs ?? 5000;
    let delay = min;
    while (!this.closed) {
      const client = new pg.Client({
        connectionString: this.options.connectionString,
        application_name: "dispatch-event-log",
        keepAlive: true,
      });
      // NOTE: a pg client without an error listener crashes the process on a dropped connection.
      client.on("error", (error) => this.lost(client, error));
      client.on("end", () => this.lost(client));
      try {
        await client.connect();
        const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
        const channels = [...this.channels];
        for (const channel of channels)
          await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
        if (this.closed) {
          await client.end().catch(() => {});
          return;
        }
        client.on("notification", (message) => this.dispatch(message.channel, message.payload));
        this.listening.clear();
        for (const channel of channels) this.listening.set(channel, Promise.resolve());
        this.client = client;
        this.backendPid = rows[0]?.pid ?? null;
        this.connections += 1;
        if (this.connections > 1)
          this.log("info", "event_log.hub.reconnected", { pid: this.backendPid });
        // Whatever was committed while we were not listening is read now.
        this.wakeAll();
        return;
      } catch (error) {
        this.log("warn", "event_log.hub.connect_failed", { error, retryInMs: delay });
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
    this.listening.clear();
    if (this.closed) return;
    this.log("warn", "event_log.hub.connection_lost", { error });
    client.end().catch(() => {});
    // A short pause first: a server that is restarting refuses instant reconnects.
    this.reconnectTimer ??= setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.closed && (this.subscriberCount > 0 || this.handlers.size > 0))
        void this.ready().catch(() => {});
    }, this.options.minBackoffMs ?? 100);
  }

  private dispatch(channel: string, payload: string | undefined) {
    for (const handler of this.handlers.get(channel) ?? []) handler(payload ?? "");
    let parsed: LogNotification;
    try {
      parsed = logNotificationSchema.parse(JSON.parse(payload ?? ""));
    } catch {
      return;
    }
    const key = keyOf(channel, parsed.id);
    const set = this.subscribers.get(key);
    if (!set) return;
    this.streamEpochs.set(key, ++this.epochCounter);
    for (const subscriber of set) if (parsed.seq > subscriber.cursor) subscriber.notify();
  }

  private read<E extends LogEvent>(
    log: EventLog<E>,
    id: string,
    afterSeq: number,
    limit: number,
  ): Promise<E[]> {
    const stream = keyOf(log.channel, id);
    const key = `${stream}\u0000${afterSeq}\u0000${limit}`;
    const epoch = `${this.reconnectEpoch}:${this.streamEpochs.get(stream) ?? 0}`;
    const current = this.inflight.get(key);
    if (current && current.epoch === epoch) return current.rows as Promise<E[]>;
    const entry = { epoch, rows: log.read(id, afterSeq, limit) };
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
   * Events of stream `id` in `log` with seq > afterSeq: first the stored
   * ones, then live ones as they commit, until the signal aborts or the
   * consumer stops.
   */
  async *subscribe<E extends LogEvent>(
    log: EventLog<E>,
    id: string,
    afterSeq: number,
    options: SubscribeOptions = {},
  ): AsyncGenerator<E, void, undefined> {
    const { signal } = options;
    const pageSize = this.options.pageSize ?? 200;
    const key = keyOf(log.channel, id);
    const subscriber = new Subscriber(afterSeq);
    let set = this.subscribers.get(key);
    if (!set) this.subscribers.set(key, (set = new Set()));
    set.add(subscriber);
    // A newcomer never joins a read that started before it arrived.
    this.streamEpochs.set(key, ++this.epochCounter);
    try {
      await this.listen(log.channel);
      while (!signal?.aborted && !this.closed) {
        subscriber.dirty = false;
        const rows = await this.read(log, id, subscriber.cursor, pageSize);
        for (const row of rows) {
          if (row.seq <= subscriber.cursor) continue;
          subscriber.cursor = row.seq;
          yield row;
          if (signal?.aborted) return;
        }
        if (rows.length >= pageSize) continue;
        if (this.closed) return;
        const woken = await subscriber.wait(signal, options.onIdle ? options.idleMs : undefined);
        if (!woken) await options.onIdle?.();
      }
    } finally {
      set.delete(subscriber);
      if (set.size === 0 && this.subscribers.get(key) === set) {
        this.subscribers.delete(key);
        this.streamEpochs.delete(key);
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
