/**
 * The load run's clients (bench/load.ts runs them): chat streams through
 * POST /api/chat, jobs submitted through tRPC's `jobs.create` as the jobs
 * form does, and job-page subscribers on `jobs.events` over SSE as
 * `useLiveJob` follows a job. Each kind of client is a loop that starts its
 * next request as the last one ends, so the load stays constant; nothing is
 * retried, and every failure is counted by kind.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import pg from "pg";
import superjson from "superjson";
import { Agent, fetch as undiciFetch } from "undici";
import { z } from "zod";
import { submitBody } from "./chat-resume";
import { readServerSentEvents } from "./lib/process";

const require = createRequire(import.meta.url);

/** What the clients record; bench/load.ts turns it into figures. */
export class LoadMetrics {
  readonly errors = new Map<string, { count: number; example: string }>();
  readonly chatTtftMs: Array<{ at: number; ms: number }> = [];
  /** Request sent → response headers: TTFT's share spent before the route answered at all. */
  readonly chatHeadersMs: Array<{ at: number; ms: number }> = [];
  readonly jobDurationMs: Array<{ at: number; ms: number }> = [];
  readonly eventLagMs: Array<{ at: number; ms: number }> = [];
  chatsCompleted = 0;
  jobsSubmitted = 0;
  jobsCompleted = 0;
  eventsDelivered = 0;
  subscriptions = 0;

  error(kind: string, detail: unknown) {
    // `fetch failed` says nothing by itself: the socket error is its cause.
    const cause = (detail as { cause?: unknown } | null)?.cause;
    const text = cause ? `${String(detail)}: ${String(cause)}` : String(detail);
    const known = this.errors.get(kind);
    if (known) known.count += 1;
    else this.errors.set(kind, { count: 1, example: text.slice(0, 300) });
  }
}

export interface LoadContext {
  appUrl: string;
  metrics: LoadMetrics;
  /** Aborted when the run ends: loops stop, subscribers close. */
  signal: AbortSignal;
  /** ms since the run started. */
  now(): number;
}

/**
 * The clients' HTTP, with a browser's patience rather than undici's defaults.
 * NOTE: undici gives up connecting after 10 s, where a browser waits on a
 * busy server for minutes (a full accept queue delays the handshake by SYN
 * retransmits of 1, 3, 7 s…).
 */
const agent = new Agent({
  connect: { timeout: 120_000 },
  headersTimeout: 300_000,
  bodyTimeout: 300_000,
});
// NOTE: the same WHATWG Response at run time; only the two packages' type declarations differ.
const fetch = async (url: string, init: Parameters<typeof undiciFetch>[1] = {}) =>
  (await undiciFetch(url, { ...init, dispatcher: agent })) as unknown as Response;

const aborted = (context: LoadContext, error: unknown) =>
  context.signal.aborted && (error as Error).name === "AbortError";

/** After a failure a client waits a moment, so a broken server is not hammered in a tight loop. */
const backOff = () => new Promise((resolve) => setTimeout(resolve, 1_000));

// ---- chat ------------------------------------------------------------------

const uiChunk = z.looseObject({
  type: z.string(),
  messageMetadata: z.looseObject({ status: z.string().optional() }).optional(),
});

/** One turn after another on a new conversation each, until the run ends. */
export async function chatLoop(context: LoadContext, cookie: string, worker: number) {
  const { metrics } = context;
  for (let turn = 0; !context.signal.aborted; turn++) {
    const started = performance.now();
    let firstToken = NaN;
    let headers = NaN;
    let status: string | undefined;
    try {
      // NOTE: not tied to the run's signal: a turn under way is read to its
      // end, as closing the tab would not stop it either.
      const response = await fetch(`${context.appUrl}/api/chat`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie },
        body: submitBody(`Load stream ${worker}.${turn}: how does streaming behave under load?`),
      });
      headers = performance.now();
      if (!response.ok || !response.body) {
        metrics.error(`chat: HTTP ${response.status}`, await response.text());
        await backOff();
        continue;
      }
      await readServerSentEvents(response.body, (data) => {
        if (data === "[DONE]") return;
        const chunk = uiChunk.parse(JSON.parse(data));
        if (chunk.type === "text-delta" && Number.isNaN(firstToken)) firstToken = performance.now();
        if (chunk.type === "error") metrics.error("chat: error chunk", data);
        if (chunk.type === "finish") status = chunk.messageMetadata?.status;
      });
    } catch (error) {
      metrics.error("chat: stream broke", error);
      await backOff();
      continue;
    }
    if (status !== "complete") {
      metrics.error(`chat: ended ${status ?? "without a finish chunk"}`, `turn ${worker}.${turn}`);
      continue;
    }
    metrics.chatsCompleted += 1;
    metrics.chatTtftMs.push({ at: context.now(), ms: firstToken - started });
    metrics.chatHeadersMs.push({ at: context.now(), ms: headers - started });
  }
}

// ---- jobs ------------------------------------------------------------------

const FINAL = new Set(["completed", "failed", "cancelled"]);

interface TrackedJob {
  id: string;
  cookie: string;
  status: string;
  lastSeq: number;
  subscribers: number;
  /** Run time (ms) when it was first seen final. */
  finalSince?: number;
  finished: Promise<void>;
  resolve(): void;
}

/**
 * The jobs in flight, read from their rows every `intervalMs` (one query for
 * all), so job workers learn when theirs ended and subscribers which jobs run.
 */
export class JobTracker {
  readonly jobs = new Map<string, TrackedJob>();
  private readonly pool: pg.Pool;
  private timer?: NodeJS.Timeout;

  constructor(
    databaseUrl: string,
    private readonly context: LoadContext,
  ) {
    this.pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  }

  add(id: string, cookie: string): TrackedJob {
    let resolve!: () => void;
    const finished = new Promise<void>((done) => (resolve = done));
    const job = { id, cookie, status: "queued", lastSeq: 0, subscribers: 0, finished, resolve };
    this.jobs.set(id, job);
    return job;
  }

  start(intervalMs: number) {
    const poll = async () => {
      try {
        await this.poll();
      } catch (error) {
        if (!this.context.signal.aborted) this.context.metrics.error("harness: job poll", error);
      }
      if (!this.context.signal.aborted) this.timer = setTimeout(() => void poll(), intervalMs);
    };
    void poll();
  }

  private async poll() {
    const ids = [...this.jobs.keys()];
    if (ids.length === 0) return;
    const { rows } = await this.pool.query<{
      id: string;
      status: string;
      last_seq: number;
      ms: number | null;
    }>(
      `SELECT id, status::text, last_seq,
              (extract(epoch FROM finished_at - created_at) * 1000)::float8 AS ms
         FROM jobs WHERE id = ANY($1::text[])`,
      [ids],
    );
    const { metrics } = this.context;
    for (const row of rows) {
      const job = this.jobs.get(row.id)!;
      job.status = row.status;
      job.lastSeq = row.last_seq;
      if (!FINAL.has(row.status) || job.finalSince !== undefined) continue;
      job.finalSince = this.context.now();
      if (row.status === "completed") {
        metrics.jobsCompleted += 1;
        metrics.jobDurationMs.push({ at: this.context.now(), ms: row.ms ?? NaN });
      } else metrics.error(`job: ${row.status}`, row.id);
      job.resolve();
    }
    // Ended jobs stay while subscribers may still be reading their last events.
    for (const job of this.jobs.values())
      if (
        job.finalSince !== undefined &&
        job.subscribers === 0 &&
        job.finalSince < this.context.now() - 60_000
      )
        this.jobs.delete(job.id);
  }

  /** The running job with the fewest subscribers, so they spread evenly. */
  pick(): TrackedJob | undefined {
    let best: TrackedJob | undefined;
    for (const job of this.jobs.values())
      if (!FINAL.has(job.status) && (!best || job.subscribers < best.subscribers)) best = job;
    return best;
  }

  async stop() {
    clearTimeout(this.timer);
    await this.pool.end();
  }
}

/** Summarize texts: the AI SDK's own documentation pages of 4 to 16 KB (1 to 3 parts). */
export function summarizeTexts(): Array<{ title: string; text: string }> {
  const dir = path.join(path.dirname(require.resolve("ai/package.json")), "docs");
  const texts: Array<{ title: string; text: string }> = [];
  for (const file of readdirSync(dir, { recursive: true, encoding: "utf8" }).sort()) {
    if (!file.endsWith(".mdx")) continue;
    const text = readFileSync(path.join(dir, file), "utf8");
    if (text.length >= 4_000 && text.length <= 16_000) texts.push({ title: file, text });
  }
  return texts;
}

const QUESTIONS = [
  "How does streamText report tool calls, and how do I stop a stream?",
  "What does useChat do when the connection drops, and how do I resume a stream?",
  "How do I generate structured output with a schema in the AI SDK?",
  "How are errors and retries handled when calling a model with the AI SDK?",
  "How do I write middleware for a language model in the AI SDK?",
];

const createdJob = z.object({
  result: z.object({ data: z.object({ json: z.object({ id: z.string() }) }) }),
});

/** Submits a job (research and summarize alternate by slot), waits for it to end, again. */
export async function jobLoop(
  context: LoadContext,
  tracker: JobTracker,
  cookie: string,
  slot: number,
  texts: ReadonlyArray<{ title: string; text: string }>,
) {
  const { metrics } = context;
  for (let round = 0; !context.signal.aborted; round++) {
    const n = slot + round * 50;
    const input =
      slot % 2 === 0
        ? {
            kind: "research",
            question: QUESTIONS[n % QUESTIONS.length],
            notifyEmail: `load-${slot}@example.test`,
          }
        : {
            kind: "summarize",
            source: { type: "text", ...texts[n % texts.length]! },
            notifyEmail: `load-${slot}@example.test`,
          };
    let id: string;
    try {
      const response = await fetch(`${context.appUrl}/api/trpc/jobs.create`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie },
        body: JSON.stringify({ json: input }),
      });
      const body: unknown = await response.json().catch(() => null);
      const parsed = createdJob.safeParse(body);
      if (!response.ok || !parsed.success) {
        metrics.error(`jobs.create: HTTP ${response.status}`, JSON.stringify(body));
        await backOff();
        continue;
      }
      id = parsed.data.result.data.json.id;
    } catch (error) {
      metrics.error("jobs.create: request broke", error);
      await backOff();
      continue;
    }
    metrics.jobsSubmitted += 1;
    const job = tracker.add(id, cookie);
    await Promise.race([
      job.finished,
      new Promise((resolve) => context.signal.addEventListener("abort", resolve, { once: true })),
    ]);
  }
}

// ---- subscribers -------------------------------------------------------------

const jobEvent = z.object({ seq: z.number(), type: z.string(), createdAt: z.date() });
const TERMINAL = /^job\.(completed|failed|cancelled)$/;
/**
 * How long after its job's row is final a subscriber may still wait for the
 * final event. Generous: a saturated app delivers late (the lag is measured
 * on its own); this catches an event that never comes.
 */
const MISSED_END_MS = 120_000;

/**
 * A job page, again and again: follows a running job from the last event its
 * row had (as the page resumes after rendering it) until the job's final
 * event, then opens the next running job.
 */
export async function subscriberLoop(context: LoadContext, tracker: JobTracker) {
  const { metrics } = context;
  while (!context.signal.aborted) {
    const job = tracker.pick();
    if (!job) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      continue;
    }
    job.subscribers += 1;
    metrics.subscriptions += 1;
    const connection = new AbortController();
    const onStop = () => connection.abort();
    context.signal.addEventListener("abort", onStop, { once: true });
    // A final event that never comes would hold the subscriber forever: a finding, not a hang.
    const watchdog = setInterval(() => {
      if (job.finalSince !== undefined && context.now() - job.finalSince > MISSED_END_MS) {
        metrics.error("subscriber: missed the final event", job.id);
        connection.abort();
      }
    }, 1_000);
    let ended = false;
    try {
      const input = superjson.serialize({
        id: job.id,
        token: null,
        lastEventId: String(job.lastSeq),
      });
      const requestedAt = Date.now();
      const response = await fetch(
        `${context.appUrl}/api/trpc/jobs.events?input=${encodeURIComponent(JSON.stringify(input))}`,
        { headers: { accept: "text/event-stream", cookie: job.cookie }, signal: connection.signal },
      );
      if (!response.ok || !response.body) {
        metrics.error(`subscriber: HTTP ${response.status}`, await response.text());
        await backOff();
        continue;
      }
      await readServerSentEvents(response.body, (data, id, name) => {
        if (name === "serialized-error") metrics.error("subscriber: error event", data);
        if (!id || ended) return;
        const event = jobEvent.parse(superjson.deserialize(JSON.parse(data)));
        metrics.eventsDelivered += 1;
        // Events committed before the page connected are replayed, not delivered live.
        if (event.createdAt.getTime() >= requestedAt)
          metrics.eventLagMs.push({
            at: context.now(),
            ms: Date.now() - event.createdAt.getTime(),
          });
        if (TERMINAL.test(event.type)) {
          ended = true;
          connection.abort();
        }
      });
      if (!ended) metrics.error("subscriber: dropped (stream ended before the job)", job.id);
    } catch (error) {
      if (!ended && !aborted(context, error) && !connection.signal.aborted)
        metrics.error("subscriber: dropped (connection broke)", error);
    } finally {
      clearInterval(watchdog);
      context.signal.removeEventListener("abort", onStop);
      job.subscribers -= 1;
    }
  }
}
